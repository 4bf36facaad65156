//! HTTPS with a development certificate, and what it gives event streams: browsers speak HTTP/2 over
//! TLS, so one page may keep many streams open at once (over HTTP/1.1 a browser opens at most six
//! connections to one origin, and a seventh `EventSource` waits for one of them to close).
//!
//! `cargo run --example https`, then open https://localhost:5001/ and accept the browser's warning
//! about the self-signed certificate (or import `certificate_pem()` as an authority to trust it).
//!
//! - `GET /` serves a page (embedded in the binary) that opens eight `EventSource`s on `/clock` and
//!   records, in `window.httpsDemo`, the protocol it was loaded with and the ticks each stream received
//!   (`tests/browser.rs` reads it back from a real browser).
//! - `GET /clock` opens an event stream that sends a tick every 200 ms.

use sisk::prelude::*;

async fn page(_req: HttpRequest) -> HttpResponse {
    HttpResponse::new().with_content(HttpContent::html(include_str!("index.html")))
}

async fn clock(req: HttpRequest) -> HttpResponse {
    let sse = req.get_event_source(None);
    let mut tick = 0u64;
    while sse.send(format!("tick {tick}")) {
        tick += 1;
        tokio::select! {
            () = sse.keep_alive() => break,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    sse.close()
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/", page);
    r += Route::get("/clock", clock);

    let app = HttpServer::create_builder()
        .use_listening_port("https://localhost:5001/")
        .use_ssl(DevelopmentCertificate::generate()?)
        .use_router(r)
        .build()?;
    app.start().await
}
