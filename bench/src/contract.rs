//! The contract every server binary implements, so the driver can measure them the same way:
//!
//! - `GET /hello` answers `200` with the body [`HELLO`].
//! - `GET /sse/{id}` opens an event stream registered under `id` and sends nothing until a broadcast.
//!   A second stream with the same `id` replaces the first, which ends.
//! - `POST /broadcast?prefix=P` sends the request body (one line of
//!   text), as one event's `data`, to every open stream whose
//!   identifier starts with `P`, and answers the number of streams it reached as decimal text.
//! - `GET /stats` answers the number of open streams as decimal text.
//!
//! The servers that speak WebSockets (sisk and axum, measured by `ws-compare`) also serve:
//!
//! - `GET /ws/{id}` accepts a WebSocket registered under `id`, which answers each text message with the
//!   same text (an echo).
//! - `POST /ws-broadcast?prefix=P` sends the request body, as one text message, to every open socket
//!   whose identifier starts with `P`, and answers the number it reached as decimal text.
//! - `GET /ws-stats` answers the number of open sockets as decimal text.
//!
//! Each server takes the address to bind as its only argument (`127.0.0.1:0` for any free port), raises
//! its descriptor limit, and prints `listening on <address>` as the first line of its standard output.

use std::io::Write;
use std::net::SocketAddr;

/// The body of `GET /hello`.
pub const HELLO: &str = "Hello, world!";

/// How many messages a stream may have waiting before a broadcast stops reaching it (sisk's default
/// `event_source_queue_capacity`, used by every peer for a like-for-like queue).
pub const QUEUE_CAPACITY: usize = 1024;

/// The prefix of `POST /broadcast?prefix=P` (percent-decoded); empty when absent, which reaches every
/// stream.
pub fn broadcast_prefix(query: Option<&str>) -> String {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "prefix")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// The address given on the command line (`127.0.0.1:0` when absent), after raising the descriptor limit
/// so that ten thousand streams fit.
///
/// # Panics
/// On an argument that is not a socket address.
pub fn server_address() -> SocketAddr {
    crate::process::raise_fd_limit();
    let argument = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    argument.parse().unwrap_or_else(|_| panic!("`{argument}` is not a socket address like 127.0.0.1:8080"))
}

/// Prints the bound address as the first line of standard output, where the driver reads it.
pub fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}

/// The next accepted connection, with `TCP_NODELAY` set, for the servers that run their own accept loop.
/// A failed accept (out of descriptors, or a connection reset before it was accepted) waits a moment and
/// tries again.
pub async fn next_connection(listener: &tokio::net::TcpListener) -> tokio::net::TcpStream {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let _ = socket.set_nodelay(true);
                return socket;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::broadcast_prefix;

    #[test]
    fn prefix_is_decoded_and_defaults_to_empty() {
        assert_eq!(broadcast_prefix(Some("prefix=room%2F1&x=2")), "room/1");
        assert_eq!(broadcast_prefix(Some("x=2")), "");
        assert_eq!(broadcast_prefix(None), "");
    }
}
