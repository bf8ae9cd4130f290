//! `mitx serve`: the HTTP API.

use std::net::SocketAddr;

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use mitx_server::{AppState, serve};
use mitx_services::catalog::{KnownKeys, validate_catalog};
use mitx_store::catalog::CatalogData;

use crate::context::Context;
use crate::output::note;

/// The demo catalog, embedded so `--demo` works from any folder.
const DEMO_CATALOG: &str = include_str!("../../../fixtures/demo/catalog.json");

/// Options of `mitx serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  mitx serve\n  mitx serve --bind 127.0.0.1:9000 --demo\n  DATABASE_URL=postgres://db/mitx mitx serve --bind 0.0.0.0:8000"
)]
pub struct ServeCommand {
    /// Address to listen on.
    #[arg(long, env = "MITX_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Load the demo catalog into an empty database first.
    #[arg(long)]
    demo: bool,
}

/// Runs the server until Ctrl-C (or SIGTERM).
pub async fn run(cmd: ServeCommand, ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let applied = store.migrate().await?;
    if applied > 0 {
        note(ctx, format!("Applied {applied} migration(s)."));
    }
    if cmd.demo {
        if store.list_courses().await?.is_empty() {
            let data: CatalogData = serde_json::from_str(DEMO_CATALOG)
                .context("the embedded demo catalog is not valid JSON")?;
            let now = Utc::now();
            validate_catalog(&data, &KnownKeys::default(), now).map_err(|problems| {
                anyhow::anyhow!(
                    "the embedded demo catalog is invalid: {}",
                    problems
                        .first()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            })?;
            store.import_catalog(&data, now).await?;
            note(ctx, "Loaded the demo catalog.");
        } else {
            note(
                ctx,
                "The database already has a catalog; --demo loads nothing.",
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(cmd.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cmd.bind))?;
    note(
        ctx,
        format!(
            "mitx serving on http://{} ({})",
            listener.local_addr()?,
            store.backend().name()
        ),
    );
    let settings = mitx_services::config::Settings::from_env();
    let gateway_enabled = settings
        .get("MITOL_APIGATEWAY_DISABLE_MIDDLEWARE")
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            )
        });
    let openedx_course_base_url = settings
        .get("OPENEDX_COURSE_BASE_URL")
        .unwrap_or("http://localhost:18000")
        .to_owned();
    let state = AppState::new(store.clone(), gateway_enabled, openedx_course_base_url);
    serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    note(ctx, "Stopped.");
    Ok(())
}

async fn shutdown_signal() {
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
