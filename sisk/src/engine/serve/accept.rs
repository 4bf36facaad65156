//! Taking connections off the listener, and what to do when that fails.
//!
//! As axum's `serve` does: an error that belongs to one connection (the client reset it while it waited
//! in the backlog) is skipped at once; any other error (out of file descriptors, `EMFILE`/`ENFILE`, or
//! of memory) will fail again if retried at once, so accepting pauses for a second. Such an episode is
//! logged once when it begins and once when accepting works again, not at every retry.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long accepting pauses after an error that is not one connection's.
const RESOURCE_BACKOFF: Duration = Duration::from_secs(1);

/// The listener, and whether accepting is failing for want of resources.
#[derive(Debug)]
pub(super) struct Listener {
    inner: TcpListener,
    starved: bool,
}

impl Listener {
    pub(super) fn new(inner: TcpListener) -> Self {
        Listener { inner, starved: false }
    }

    /// The next connection. Cancel-safe: what it learned about errors is kept for the next call.
    pub(super) async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok(accepted) => {
                    if std::mem::take(&mut self.starved) {
                        tracing::warn!("accepting connections again");
                    }
                    return accepted;
                }
                Err(err) if is_connection_error(&err) => {}
                Err(err) => {
                    if !std::mem::replace(&mut self.starved, true) {
                        tracing::error!(
                            error = %err,
                            "cannot accept connections; retrying every second until it works (when out of file \
                             descriptors: raise `ulimit -n`, or lower HttpServerConfiguration::maximum_connections)"
                        );
                    }
                    tokio::time::sleep(RESOURCE_BACKOFF).await;
                }
            }
        }
    }
}

/// True for an error that concerns one connection only: the next accept may well succeed.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(err.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
