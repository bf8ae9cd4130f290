//! The connection loop: HTTP/1.1 with a header timeout (slow or idle clients are
//! disconnected), room in hyper's buffers for the JSON 414/431 answers of
//! [`crate::rejections`], and a graceful shutdown that stops accepting, lets in-flight
//! requests finish for up to `MITX_SHUTDOWN_GRACE_SECONDS`, then closes what is left.

use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

/// Bytes hyper may buffer for a request head: well above the limits answered in JSON.
const MAX_HEAD_BUFFER: usize = 256 * 1024;
/// Header fields hyper parses: above [`crate::rejections::MAX_HEADER_COUNT`] so that
/// limit is answered in JSON.
const MAX_HEADER_FIELDS: usize = 2 * crate::rejections::MAX_HEADER_COUNT;

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Time allowed for a whole request head, and for an idle keep-alive connection to
    /// start its next request.
    pub header_timeout: Duration,
    /// How long in-flight requests may run on after shutdown begins.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BUFFER)
        .max_headers(MAX_HEADER_FIELDS)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(error = %err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // The peer address reaches handlers as `ConnectInfo` (the CyberSource form's
        // `customer_ip_address`); forwarding headers are never trusted for it.
        let service = TowerToHyperService::new(app.clone().into_service::<Incoming>().map_request(
            move |mut request: axum::http::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
        // Reap finished connections so the set holds only open ones.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(open, "shutting down: letting in-flight requests finish");
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                grace_seconds = limits.shutdown_grace.as_secs(),
                "shutdown grace period over; closing the remaining connections"
            );
        }
    }
    // Whatever is still running stops here (its unit of work, if any, rolls back).
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}
