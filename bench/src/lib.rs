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
//! - [`mcp`]: the `mcp-compare` run: sisk's MCP server against rmcp's on axum (`mcp-sisk`, `mcp-rmcp`),
//!   its client, measurements and report.
//!
//! The helpers below serve the single-purpose binaries (`disconnect`).

pub mod client;
pub mod contract;
pub mod driver;
pub mod mcp;
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
    serve_in_background_with(router, |_| {})
}

/// [`serve_in_background`] with `configure` applied to the server's configuration.
///
/// # Panics
/// As [`serve_in_background`].
pub fn serve_in_background_with(
    router: sisk::routing::Router,
    configure: impl FnOnce(&mut sisk::http::HttpServerConfiguration),
) -> sisk::http::HttpServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("inside a tokio runtime");
    let app = sisk::http::HttpServer::create_builder()
        .use_listener(listener)
        .use_configuration(configure)
        .use_router(router)
        .build()
        .expect("the server builds");
    let server = app.server();
    tokio::spawn(app.start_with_shutdown(std::future::pending()));
    server
}

/// Streams per HTTP/2 connection that [`open_identified_streams`] opens: hyper's default
/// `max_concurrent_streams` on the server side.
pub const STREAMS_PER_CONNECTION: usize = 200;

/// Opens `/sse/<id>` on `server` for each of `ids` for real — HTTP/2 over loopback,
/// [`STREAMS_PER_CONNECTION`] to a TCP connection, so 100k streams need only 500 sockets — and waits,
/// at most `within`, until the server's collection holds them all. The streams stay open while the
/// returned responses are kept.
///
/// # Panics
/// When a stream does not open with `200`, or the collection does not hold them all in time.
pub async fn open_identified_streams(
    server: &sisk::http::HttpServer,
    ids: Vec<String>,
    within: Duration,
) -> Vec<http::Response<hyper::body::Incoming>> {
    let expected = server.event_sources().active_connections() + ids.len();
    let mut connections = tokio::task::JoinSet::new();
    for chunk in ids.chunks(STREAMS_PER_CONNECTION) {
        connections.spawn(open_on_one_connection(server.local_addr(), chunk.to_vec()));
    }
    let mut streams = Vec::with_capacity(ids.len());
    while let Some(opened) = connections.join_next().await {
        streams.extend(opened.expect("the task ran"));
    }
    let deadline = tokio::time::Instant::now() + within;
    while server.event_sources().active_connections() < expected && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server.event_sources().active_connections() >= expected, "every stream is registered in time");
    streams
}

/// Opens `/sse/<id>` for each of `ids` on one HTTP/2 connection to `addr`.
async fn open_on_one_connection(addr: SocketAddr, ids: Vec<String>) -> Vec<http::Response<hyper::body::Incoming>> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let socket = TcpStream::connect(addr).await.expect("connects");
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(socket))
        .await
        .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut opening = tokio::task::JoinSet::new();
    for id in ids {
        let mut sender = sender.clone();
        let request = http::Request::get(format!("http://{addr}/sse/{id}"))
            .header("accept", "text/event-stream")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("a valid request");
        opening.spawn(async move { sender.send_request(request).await });
    }
    let mut streams = Vec::new();
    while let Some(opened) = opening.join_next().await {
        let response = opened.expect("the task ran").expect("the stream opens");
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    streams
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
