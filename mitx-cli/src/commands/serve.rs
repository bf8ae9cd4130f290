//! `mitx serve`: the HTTP API (and, with `--with-worker` or `--demo`, the job worker in the
//! same process).

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Args;
use mitx_server::{AppState, serve};
use mitx_services::Services;
use mitx_services::catalog;
use mitx_services::edx::fake::FakeEdx;
use mitx_services::jobs::worker::{self, WorkerOptions};
use mitx_services::store::catalog::CatalogData;

use crate::context::Context;
use crate::output::note;

/// The demo catalog, embedded so `--demo` works from any folder.
const DEMO_CATALOG: &str = include_str!("../../../fixtures/demo/catalog.json");

/// Options of `mitx serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  mitx serve\n  mitx serve --bind 127.0.0.1:9000 --demo\n  mitx serve --with-worker\n  DATABASE_URL=postgres://db/mitx mitx serve --bind 0.0.0.0:8000"
)]
pub struct ServeCommand {
    /// Address to listen on.
    #[arg(long, env = "MITX_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Load the demo catalog into an empty database first; without OPENEDX_API_BASE_URL,
    /// stand in for Open edX with a local fake; run the job worker in this process.
    #[arg(long)]
    demo: bool,
    /// Run the job worker (queued jobs and the periodic schedule) in this process too.
    #[arg(long)]
    with_worker: bool,
}

/// Runs the server until Ctrl-C (or SIGTERM).
pub async fn run(cmd: ServeCommand, ctx: &Context) -> anyhow::Result<()> {
    let mut settings = ctx.settings()?;
    // Kept alive for the whole run: the demo's stand-in for Open edX.
    let mut _fake_edx = None;
    if cmd.demo && settings.edx.api_base_url.is_none() {
        let fake = FakeEdx::start()
            .await
            .context("cannot start the demo's local Open edX")?;
        settings.edx = fake.settings(settings.edx.ignore_failures);
        note(
            ctx,
            format!(
                "Demo: OPENEDX_API_BASE_URL is not set, so a local fake Open edX answers on {}.",
                fake.base_url()
            ),
        );
        _fake_edx = Some(fake);
    }
    if cmd.demo {
        demo_payment_settings(ctx, &mut settings, cmd.bind);
    }
    let services = Services::start(settings).await?;
    let applied = services.migrate().await?;
    if applied > 0 {
        note(ctx, format!("Applied {applied} migration(s)."));
    }
    if cmd.demo {
        load_demo(ctx, &services).await?;
    }
    let listener = tokio::net::TcpListener::bind(cmd.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cmd.bind))?;
    note(
        ctx,
        format!(
            "mitx serving on http://{} ({})",
            listener.local_addr()?,
            services.store().backend().name()
        ),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let worker_task = if cmd.with_worker || cmd.demo {
        let options = WorkerOptions::from_settings(&services.settings().worker);
        if let Some(outbox) = services.settings().email.outbox.to_str() {
            note(
                ctx,
                format!("Worker running in this process; emails go to {outbox}/."),
            );
        }
        let services = services.clone();
        let stopped = until_stopped(stopped.clone());
        Some(tokio::spawn(async move {
            worker::run(&services, &options, stopped).await
        }))
    } else {
        None
    };
    let state = if cmd.demo {
        AppState::new(services.clone()).with_demo_pages()
    } else {
        AppState::new(services.clone())
    };
    serve(listener, state, until_stopped(stopped))
        .await
        .context("server failed")?;
    if let Some(task) = worker_task {
        task.await.context("the worker stopped abnormally")??;
    }
    note(ctx, "Stopped.");
    Ok(())
}

/// The demo pays through its own stand-in page unless CyberSource is configured: a key
/// for this process, the form posted to the local page, and (unless SITE_BASE_URL is set)
/// the site at the bind address so checkout's return URLs point back here.
fn demo_payment_settings(
    ctx: &Context,
    settings: &mut mitx_services::config::Settings,
    bind: SocketAddr,
) {
    if std::env::var_os("SITE_BASE_URL").is_none() {
        settings.site.base_url = format!("http://{bind}");
    }
    if std::env::var_os("MITOL_APIGATEWAY_DISABLE_MIDDLEWARE").is_none() {
        // The demo's sign-in stands in for the gateway, so its header is trusted; the demo
        // listens on loopback unless told otherwise.
        settings.server.gateway_disabled = false;
    }
    if settings.payment.cybersource_security_key.is_empty() {
        settings.payment.cybersource_security_key = mitx_services::demo::demo_security_key();
        settings.payment.cybersource_secure_acceptance_url =
            mitx_server::demo::DEMO_PAYMENT_PATH.to_owned();
        note(
            ctx,
            format!(
                "Demo: payments go to the local stand-in page; sign in and buy at http://{bind}/demo/"
            ),
        );
    }
}

async fn load_demo(ctx: &Context, services: &Services) -> anyhow::Result<()> {
    if !services.store().list_courses().await?.is_empty() {
        note(
            ctx,
            "The database already has a catalog; --demo loads nothing.",
        );
        return Ok(());
    }
    let data: CatalogData = serde_json::from_str(DEMO_CATALOG)
        .context("the embedded demo catalog is not valid JSON")?;
    catalog::import(services, &data, false)
        .await
        .context("the embedded demo catalog was not loaded")?;
    note(ctx, "Loaded the demo catalog.");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
