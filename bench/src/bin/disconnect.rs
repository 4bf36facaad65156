//! How promptly a server notices that an event-stream client closed its socket, with and without pings.
//!
//! `cargo run --release -p sisk-bench --bin disconnect [connections]`
//!
//! Opens N identified streams whose handlers sit in `wait_for_fail(60 s)`, closes each client socket,
//! and measures the time from the close to the moment the handler's wait returned (the connection has
//! then also left `server.event_sources()`). Prints p50, p99 and max.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sisk::prelude::*;
use sisk_bench::{ms, open_stream, percentile, serve_in_background};

type Returns = Arc<Mutex<HashMap<String, Instant>>>;

async fn measure(connections: usize, ping: Option<Duration>) -> Vec<Duration> {
    let returns: Returns = Arc::default();
    let recorded = returns.clone();
    let mut r = Router::new();
    r += Route::get("/sse/<id>", move |req: HttpRequest| {
        let recorded = recorded.clone();
        async move {
            let id = req.route_parameter("id").unwrap_or_default().to_owned();
            let sse = req.get_event_source(id.as_str());
            if let Some(interval) = ping {
                sse.with_ping(|p| p.start_with("ping", interval));
            }
            sse.wait_for_fail(Duration::from_secs(60)).await;
            recorded.lock().unwrap().insert(id, Instant::now());
            sse.close()
        }
    });
    let server = serve_in_background(r);
    let addr = server.local_addr();

    let mut streams = Vec::with_capacity(connections);
    for i in 0..connections {
        streams.push((format!("c{i}"), open_stream(addr, &format!("/sse/c{i}")).await.expect("stream opens")));
    }
    let mut closed_at = HashMap::new();
    for (id, stream) in streams {
        closed_at.insert(id, Instant::now());
        drop(stream);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while returns.lock().unwrap().len() < connections && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.stop();
    let returns = returns.lock().unwrap();
    assert_eq!(returns.len(), connections, "every close was noticed within 30 s");
    assert_eq!(server.event_sources().active_connections(), 0);
    let mut delays: Vec<Duration> = closed_at.iter().map(|(id, closed)| returns[id].duration_since(*closed)).collect();
    delays.sort();
    delays
}

#[tokio::main]
async fn main() {
    let connections: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    println!("disconnect detection over {connections} HTTP/1.1 streams on 127.0.0.1 (client closes its socket)");
    println!("| pings | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (label, ping) in [("none", None), ("every 1 s", Some(Duration::from_secs(1)))] {
        let delays = measure(connections, ping).await;
        let (p50, p99, max) = (percentile(&delays, 50.0), percentile(&delays, 99.0), delays[delays.len() - 1]);
        println!("| {label} | {} | {} | {} |", ms(p50), ms(p99), ms(max));
    }
}
