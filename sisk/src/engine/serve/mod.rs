//! Serving a server's bound listeners, in the order a connection meets them: [`accept`] takes connections
//! off a listener (riding out the errors accepting may meet), [`connection`] serves each one in a task of
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
use crate::http::HttpServer;
use accept::Listener;
use connection::{serve_connection, Accepted};
pub(crate) use protocols::{Protocols, Security};
pub(crate) use shutdown::shutdown_signal;

/// One listener of a server: its socket, the routers of its hosts, and the protocols it speaks.
pub(crate) struct Listening {
    pub(crate) app: Arc<App>,
    pub(crate) listener: TcpListener,
    pub(crate) protocols: Protocols,
}

/// Accepts connections on every listener of `server` and serves each in a task of its own until `signal`
/// resolves or the server is stopped; then shuts down gracefully, once for all listeners.
pub(crate) async fn serve(server: &HttpServer, listeners: Vec<Listening>, signal: impl Future<Output = ()> + Send) {
    // The connections being served, for the shutdown to wait for.
    let connections = TaskTracker::new();
    let accepting = TaskTracker::new();
    for listening in listeners {
        accepting.spawn(accept_on(listening, connections.clone()));
    }
    accepting.close();
    tokio::select! {
        () = signal => server.stop(),
        () = server.stopping().cancelled() => {}
    }
    // Every listener is closed once its loop has seen the server stopping.
    accepting.wait().await;
    server.handlers().each("on_server_stopping", |handler| handler.on_server_stopping(server));
    shutdown::shut_down(server, &connections).await;
}

/// Accepts connections on one listener until the server stops.
async fn accept_on(listening: Listening, connections: TaskTracker) {
    let Listening { app, listener, protocols } = listening;
    let server = app.server.clone();
    let protocols = Arc::new(protocols);
    let mut listener = Listener::new(listener);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
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
}
