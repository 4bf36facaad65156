//! Criterion benchmark of sisk's `HttpEventSourceCollection` with 1k, 10k and 100k registered
//! connections: `get_by_identifier`, `find` by prefix, and `all`.
//!
//! The collection is filled honestly, with real event-stream connections to a sisk server running in this
//! process: HTTP/2 streams over loopback, 200 per TCP connection (hyper's default limit of concurrent
//! streams), so 100k connections need only 500 sockets. Identifiers are `c0` … `c{N-1}`.
//!
//! `cargo bench -p sisk-bench --bench collection` (the `bench/run` script shortens criterion's times).

use std::time::{Duration, Instant};

use criterion::{black_box, BenchmarkId, Criterion};
use hyper::body::Incoming;
use sisk::prelude::*;
use sisk_bench::driver::collection::SIZES;
use sisk_bench::{open_identified_streams, serve_in_background_with};

/// The longest filling or emptying the collection may take.
const FILL_TIMEOUT: Duration = Duration::from_secs(120);

/// A sisk server in this process with `size` identified streams open to it.
struct Filled {
    server: HttpServer,
    streams: Vec<http::Response<Incoming>>,
}

async fn fill(size: usize) -> Filled {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.keep_alive().await;
        sse.close()
    });
    // 100k streams: far over the default `maximum_event_sources` (10,000) and `maximum_connections`.
    let server = serve_in_background_with(r, |config| {
        config.maximum_event_sources = 200_000;
        config.maximum_connections = 200_000;
    });
    let streams = open_identified_streams(&server, (0..size).map(|i| format!("c{i}")).collect(), FILL_TIMEOUT).await;
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
