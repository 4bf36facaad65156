//! The end of a server: the signals that ask for it, and the graceful shutdown that follows.

use tokio_util::task::TaskTracker;

use crate::http::HttpServer;

/// Stops a server whose listener is closed: ends every event stream cleanly, then waits for connections
/// and handlers until the shutdown timeout, and drops what is left.
pub(super) async fn shut_down(server: &HttpServer, connections: &TaskTracker) {
    tracing::info!("shutting down");
    server.stop();
    server.event_sources().drop_all();
    // Every WebSocket, identified or not, sends what it has queued, then closes with 1001 (its own task
    // sees the server stopping).
    let tasks = server.streaming_tasks();
    tasks.close();
    connections.close();
    let drained = async {
        connections.wait().await;
        tasks.wait().await;
    };
    let timeout = server.configuration().shutdown_timeout;
    if tokio::time::timeout(timeout, drained).await.is_err() {
        tracing::warn!(?timeout, "shutdown timeout passed; dropping what is left");
        server.abandoned().cancel();
        // The cut connections and handlers end at their next poll; give them a moment to do so.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), tasks.wait()).await;
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
