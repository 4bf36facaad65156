//! Measurements of sisk against its peers, and the pieces the measurement binaries in `src/bin/` share.
//!
//! - [`contract`]: what every server binary (`server-sisk`, `server-hyper`, `server-axum`,
//!   `server-tokio`) answers, and the argument and announcement each takes and prints.
//! - [`registry`]: the idiomatic registry of identified streams that the peers without one of their
//!   own (hyper, axum, raw tokio) share, so they differ only where their framework's idiom does.
//! - [`process`]: CPU time, resident memory and descriptor limits of a process, read from `/proc`.
//! - [`client`]: raw-socket HTTP/1.1 clients light enough that the server, not the client, is measured.
//! - [`driver`]: the `compare` run: start each server, measure it, print the table.
//! - [`redis`]: a `redis-server` started for a run, for the `cluster` binary's nodes to share.
//!
//! The helpers below serve the single-purpose binaries (`disconnect`).

pub mod client;
pub mod contract;
pub mod driver;
pub mod process;
pub mod redis;
pub mod registry;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// Serves `router` with sisk on 127.0.0.1, on a port of its own, in a background task that lives as long as
/// the runtime; returns the running server (its address is `local_addr()`).
///
/// # Panics
/// When the server cannot be built (a route collision in `router`, or no port to bind).
pub fn serve_in_background(router: sisk::routing::Router) -> sisk::http::HttpServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("inside a tokio runtime");
    let app = sisk::http::HttpServer::create_builder()
        .use_listener(listener)
        .use_router(router)
        .build()
        .expect("the server builds");
    let server = app.server();
    tokio::spawn(app.start_with_shutdown(std::future::pending()));
    server
}

/// The p-th percentile (0–100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Opens `GET path` on a raw socket and reads the response head.
pub async fn open_stream(addr: SocketAddr, path: &str) -> std::io::Result<TcpStream> {
    client::EventStreamClient::open(addr, path).await.map(client::EventStreamClient::into_socket)
}

/// Formats a duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
