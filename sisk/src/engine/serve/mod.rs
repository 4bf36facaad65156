//! Serving a bound listener, in the order a connection meets it: [`accept`] takes connections off the
//! listener (riding out the errors accepting may meet), [`connection`] serves each one in a task of
//! its own (TLS in [`tls`], the protocol told apart by [`preface`] or ALPN, then hyper, set up once in
//! [`protocols`] — or, for a plain first request that opens an event stream, [`direct`], which writes
//! the stream outside hyper's dispatcher), and [`shutdown`] ends it all gracefully.

mod accept;
mod connection;
mod direct;
mod preface;
mod protocols;
mod shutdown;
#[cfg(feature = "tls")]
pub(crate) mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use crate::engine::service::App;
use accept::Listener;
use connection::{serve_connection, Accepted};
pub(crate) use protocols::{Protocols, Security};
pub(crate) use shutdown::shutdown_signal;

/// Accepts connections on `listener` and serves each in a task of its own until `signal` resolves or the
/// server is stopped; then shuts down gracefully.
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    protocols: Protocols,
    signal: impl Future<Output = ()> + Send,
) {
    let server = app.server.clone();
    let protocols = Arc::new(protocols);
    // The connections being served, for the shutdown to wait for.
    let connections = TaskTracker::new();
    let mut listener = Listener::new(listener);
    tokio::pin!(signal);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
            () = server.stopping().cancelled() => break,
        };
        let accepted_at = Instant::now();
        // Over `maximum_connections`: closed unread (see that field for why not a 503).
        let Some(place) = server.connection_slot() else {
            tracing::debug!(%remote, "connection refused: the server is full");
            continue;
        };
        let accepted = Accepted { stream, remote, accepted_at, place };
        tokio::spawn(serve_connection(app.clone(), protocols.clone(), connections.clone(), accepted));
    }
    drop(listener);
    server.handlers().each("on_server_stopping", |handler| handler.on_server_stopping(&server));
    shutdown::shut_down(&server, &connections).await;
}
