//! For the examples that hand sisk to another server (axum, hyper): the listener that server accepts
//! on, bound where sisk's own builder would bind it.

use sisk::http::{ListeningPort, LISTENING_PORT_VARIABLE};

/// A listener on `SISK_LISTENING_PORT` when it is set (the smoke tests set port 0), else on
/// `default`; logs `listening on http://<address>/` as sisk does.
pub async fn bind_listener(default: &str) -> Result<tokio::net::TcpListener, sisk::Error> {
    let url = std::env::var(LISTENING_PORT_VARIABLE).unwrap_or_else(|_| default.to_owned());
    let port = ListeningPort::parse(&url)?;
    let listener = tokio::net::TcpListener::bind((port.host(), port.port())).await.map_err(sisk::Error::internal)?;
    let address = listener.local_addr().map_err(sisk::Error::internal)?;
    tracing::info!("listening on http://{address}/");
    Ok(listener)
}
