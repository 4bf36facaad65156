//! "Configuring the ping policy": a comment every 5 seconds keeps proxies from closing the idle stream
//! and reveals a client that is gone.
//!
//! `cargo run --example sse-ping`, then `curl -N http://localhost:5000/sse`.

use sisk::prelude::*;

#[route_get("/sse")]
async fn events(request: HttpRequest) -> HttpResponse {
    let sse = request.get_event_source(None);
    sse.with_ping(|ping| {
        ping.data_message = "ping-message".into();
        ping.interval = Duration::from_secs(5);
        ping.start();
    });
    sse.keep_alive().await;
    sse.close()
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r.auto_scan();

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
