//! `contention`: what a second publisher and a new stream wait while a broadcast to 10,000 open streams
//! runs, in one sisk server in this process.
//!
//! 10,000 identified streams are opened for real (HTTP/2 over loopback, 200 streams per connection).
//! Each round, one thread broadcasts to all of them; once it has begun, a second thread calls
//! `send_to` for one identifier, and a new stream is opened, whose handler times its own
//! `get_event_source` (the registration). Printed: the medians and the 90th percentiles of the three
//! times over the rounds, as a markdown table row. Bounded: opening takes a few seconds, the rounds
//! well under a second each.
//!
//! `cargo run --release -p sisk-bench --bin contention [-- --streams 10000 --rounds 30]`

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sisk::prelude::*;
use sisk_bench::{open_identified_streams, serve_in_background_with};

/// The longest opening the streams may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long each `get_event_source` of a `late-…` stream took.
static REGISTRATIONS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn argument(name: &str, default: usize) -> usize {
    let arguments: Vec<String> = std::env::args().collect();
    arguments
        .iter()
        .position(|a| a == name)
        .and_then(|i| arguments.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn start_server() -> HttpServer {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let started = Instant::now();
        let sse = req.get_event_source(id.as_str());
        if id.starts_with("late-") {
            REGISTRATIONS.lock().unwrap_or_else(|p| p.into_inner()).push(started.elapsed());
        }
        sse.keep_alive().await;
        sse.close()
    });
    serve_in_background_with(r, |config| {
        config.maximum_event_sources = 200_000;
        config.maximum_connections = 200_000;
    })
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let index = ((times.len() as f64 - 1.0) * p).round() as usize;
    times.get(index).map_or(0.0, |t| t.as_secs_f64() * 1000.0)
}

fn main() {
    let size = argument("--streams", 10_000);
    let rounds = argument("--rounds", 30);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let server = runtime.block_on(async { start_server() });
    let started = Instant::now();
    let ids = (0..size).map(|i| format!("c{i}")).collect();
    let mut streams = runtime.block_on(open_identified_streams(&server, ids, OPEN_TIMEOUT));
    assert_eq!(server.event_sources().active_connections(), size, "every stream is registered");
    eprintln!("{size} streams open in {:.1} s", started.elapsed().as_secs_f64());

    let payload = "x".repeat(64);
    let (mut broadcasts, mut sends) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let sources = server.event_sources().clone();
        let begun = Arc::new(AtomicBool::new(false));
        let broadcaster = std::thread::spawn({
            let (sources, begun, event) = (sources.clone(), begun.clone(), Event::new().data(payload.as_str()));
            move || {
                let started = Instant::now();
                begun.store(true, Ordering::Release);
                // Compiles against both APIs (a count before, a `Result<Published, _>` after).
                #[allow(clippy::let_underscore_untyped)]
                let _ = sources.broadcast(&event);
                started.elapsed()
            }
        });
        while !begun.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_micros(200));
        // A new stream, opened while the broadcast runs; its handler times its registration.
        let late = runtime.spawn({
            let server = server.clone();
            async move { open_identified_streams(&server, vec![format!("late-{round}")], OPEN_TIMEOUT).await }
        });
        let sent = Instant::now();
        #[allow(clippy::let_underscore_untyped)]
        let _ = sources.send_to(&format!("c{}", (round * 7919) % size), &Event::new().data("to one"));
        sends.push(sent.elapsed());
        broadcasts.push(broadcaster.join().expect("the broadcaster ran"));
        streams.extend(runtime.block_on(late).expect("the late stream opened"));
        // Let the transport drain what the round queued.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut registrations = REGISTRATIONS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!("| streams | rounds | broadcast p50 / p90 (ms) | `send_to` meanwhile p50 / p90 (ms) | registration meanwhile p50 / p90 (ms) |");
    println!("|---|---|---|---|---|");
    println!(
        "| {size} | {rounds} | {:.2} / {:.2} | {:.3} / {:.3} | {:.3} / {:.3} |",
        percentile(&mut broadcasts, 0.5),
        percentile(&mut broadcasts, 0.9),
        percentile(&mut sends, 0.5),
        percentile(&mut sends, 0.9),
        percentile(&mut registrations, 0.5),
        percentile(&mut registrations, 0.9),
    );
    drop(streams);
    server.stop();
}
