//! Criterion benchmark of sisk's `HttpEventSourceCollection` with 1k, 10k and 100k registered
//! connections: `get_by_identifier`, `find` by prefix, and `all`.
//!
//! The collection is filled honestly, with real event-stream connections to a sisk server running in this
//! process: HTTP/2 streams over loopback, 200 per TCP connection (hyper's default limit of concurrent
//! streams), so 100k connections need only 500 sockets. Identifiers are `c0` … `c{N-1}`.
//!
//! `cargo bench -p sisk-bench --bench collection` (the `bench/run` script shortens criterion's times).

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{black_box, BenchmarkId, Criterion};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sisk::prelude::*;
use sisk_bench::driver::collection::SIZES;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Streams per HTTP/2 connection: hyper's default `max_concurrent_streams` on the server side.
const STREAMS_PER_CONNECTION: usize = 200;
/// The longest filling or emptying the collection may take.
const FILL_TIMEOUT: Duration = Duration::from_secs(120);

/// A sisk server in this process with `size` identified streams open to it.
struct Filled {
    server: HttpServer,
    streams: Vec<http::Response<Incoming>>,
}

async fn start_server() -> HttpServer {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.keep_alive().await;
        sse.close()
    });
    // 100k streams: far over the default `maximum_event_sources` (10,000) and `maximum_connections`.
    let app = HttpServer::create_builder()
        .use_listening_port("http://127.0.0.1:0/")
        .use_configuration(|config| {
            config.maximum_event_sources = 200_000;
            config.maximum_connections = 200_000;
        })
        .use_router(r)
        .build()
        .expect("the server builds");
    let server = app.server();
    tokio::spawn(app.start_with_shutdown(std::future::pending()));
    server
}

/// Opens the streams `first..first + count` on one HTTP/2 connection.
async fn open_connection(server: &HttpServer, first: usize, count: usize) -> Vec<http::Response<Incoming>> {
    let addr = server.local_addr();
    let socket = TcpStream::connect(addr).await.expect("connects");
    let (sender, connection) =
        http2::handshake(TokioExecutor::new(), TokioIo::new(socket)).await.expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut opening = JoinSet::new();
    for i in first..first + count {
        let mut sender = sender.clone();
        let request = http::Request::get(format!("http://{addr}/sse/c{i}"))
            .header("accept", "text/event-stream")
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        opening.spawn(async move { sender.send_request(request).await });
    }
    let mut streams = Vec::with_capacity(count);
    while let Some(opened) = opening.join_next().await {
        let response = opened.expect("the task ran").expect("the stream opens");
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    streams
}

async fn fill(size: usize) -> Filled {
    let server = start_server().await;
    let mut connections = JoinSet::new();
    for first in (0..size).step_by(STREAMS_PER_CONNECTION) {
        let server = server.clone();
        connections
            .spawn(async move { open_connection(&server, first, STREAMS_PER_CONNECTION.min(size - first)).await });
    }
    let mut streams = Vec::with_capacity(size);
    while let Some(opened) = connections.join_next().await {
        streams.extend(opened.expect("the task ran"));
    }
    let deadline = Instant::now() + FILL_TIMEOUT;
    while server.event_sources().active_connections() < size && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.event_sources().active_connections(), size, "every stream is registered");
    Filled { server, streams }
}

fn collection(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    for size in SIZES {
        let started = Instant::now();
        let filled =
            runtime.block_on(async { tokio::time::timeout(FILL_TIMEOUT, fill(size)).await.expect("filled in time") });
        eprintln!("{size} connections open in {:.1} s", started.elapsed().as_secs_f64());
        let sources = filled.server.event_sources();
        let probes: Vec<String> = (0..1024).map(|k| format!("c{}", (k * 7919) % size)).collect();

        let mut next = 0;
        c.benchmark_group("get_by_identifier").bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                black_box(sources.get_by_identifier(&probes[next]))
            })
        });
        // A prefix that names one connection and, at larger sizes, the ten or hundred after it: `find`
        // must look at every identifier whatever it matches.
        c.benchmark_group("find_prefix").bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| black_box(sources.find(|id| id.starts_with("c999"))))
        });
        c.benchmark_group("all")
            .bench_function(BenchmarkId::from_parameter(size), |b| b.iter(|| black_box(sources.all())));

        runtime.block_on(async {
            let Filled { server, streams } = filled;
            drop(streams);
            let deadline = Instant::now() + FILL_TIMEOUT;
            while server.event_sources().active_connections() > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            server.stop();
        });
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    collection(&mut criterion);
    criterion.final_summary();
}
