//! A live page that shows Server-Sent Events at work: a broadcast ticker, named events, pings that never
//! reach `onmessage`, and reconnection with `Last-Event-ID` resumed by the server's event log: a page that
//! was away gets every tick it missed.
//!
//! `cargo run --example sse-demo`, then open http://localhost:5000/.
//!
//! - `GET /` serves the page, `static/index.html`, with its script and style, through the file server
//!   (`map_file_system`), from the directory beside this file (found from `CARGO_MANIFEST_DIR`, so
//!   `cargo run --example sse-demo` works from anywhere in the repository).
//! - `GET /events` opens an identified stream (`demo-<n>`). The event log first queues what a reconnecting
//!   browser missed (the ticks since its `Last-Event-ID`) and a cursor; then come a `welcome` event, a
//!   `resumed` event with the `Last-Event-ID` and how it was resumed, every new tick, and a ping every 2
//!   seconds. With `?close_after=N` the server closes the stream after N seconds, so the browser reconnects.
//! - `GET /quiet` opens a stream that is sent nothing but the log's cursor and is closed after a second:
//!   the browser reconnects with that cursor as its `Last-Event-ID`, which a `resumed` event echoes (the
//!   page opens it with `?close_after`, to show that a client that receives nothing still has a cursor).
//! - A background task broadcasts a tick (`onmessage`; the log gives it its id) to every `demo-` stream
//!   each second.
//!
//! The page opens two streams: an `EventSource`, and a plain `fetch` of `/events` that shows the raw frames —
//! pings included — and the `X-Sisk-Demo` header, which an `EventSource` cannot see. It records what each saw
//! in `window.sseDemo`, which `tests/browser.rs` reads back from a real browser.

use std::sync::atomic::{AtomicU64, Ordering};

use sisk::prelude::*;

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

/// The page, its script and its style.
const STATIC_FILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sse-demo/static");

async fn events(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let client = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
    let close_after: Option<u64> = req.query().get("close_after").and_then(|n| n.parse().ok());
    let last_event_id = req.last_event_id().map(str::to_owned);

    let sse = req.get_event_source(format!("demo-{client}").as_str());
    sse.append_header("X-Sisk-Demo", "on")?;
    sse.send_event(&Event::new().retry(Duration::from_millis(1000)).event("welcome").data(format!("client {client}")));
    if let Some(id) = last_event_id {
        // The log has already queued the ticks this page missed (or, if it could not, a `stale` event).
        sse.send_event(&Event::new().event("resumed").data(format!("{id} {:?}", sse.resume_state())));
    }
    sse.with_ping(|ping| {
        ping.data_message = "ping".into();
        ping.interval = Duration::from_secs(2);
        ping.start();
    });

    match close_after {
        // Close after a while: the browser reconnects and sends the id of the last tick it saw.
        Some(seconds) => {
            tokio::select! {
                () = sse.keep_alive() => {}
                () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            }
        }
        None => sse.keep_alive().await,
    }
    Ok(sse.close())
}

async fn quiet(req: HttpRequest) -> HttpResponse {
    let client = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
    let last_event_id = req.last_event_id().map(str::to_owned);
    let sse = req.get_event_source(format!("quiet-{client}").as_str());
    sse.send_event(&Event::new().retry(Duration::from_millis(500)).comment("nothing but a cursor here"));
    if let Some(id) = last_event_id {
        sse.send_event(&Event::new().event("resumed").data(format!("{id} {:?}", sse.resume_state())));
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sse.keep_alive()).await;
    sse.close()
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r.map_file_system("/", STATIC_FILES);
    r += Route::get("/events", events);
    r += Route::get("/quiet", quiet);

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    let server = app.server();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        for tick in 1u64.. {
            ticker.tick().await;
            if let Err(err) =
                server.event_sources().broadcast_prefix("demo-", &Event::new().data(format!("tick {tick}")))
            {
                tracing::warn!(error = %err, "a tick could not be published");
            }
        }
    });
    app.start().await
}
