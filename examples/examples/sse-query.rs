//! "Querying connections": streams named `my-connection-<n>`, and a broadcast every second to every
//! stream whose identifier starts with `my-connection-`.
//!
//! `cargo run --example sse-query`, then `curl -N http://localhost:5000/sse/1` in two terminals.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/sse/<n>", |req: HttpRequest| async move {
        let id = format!("my-connection-{}", req.route_parameter("n").unwrap_or("0"));
        let sse = req.get_event_source(id.as_str());
        sse.keep_alive().await;
        sse.close()
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    let server = app.server();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            let evs: Vec<HttpRequestEventSource> = server.event_sources().find(|es| es.starts_with("my-connection-"));
            for e in evs {
                e.send("Transmitindo para todas as fontes de eventos que começam com 'my-connection-'");
            }
            let everyone = server.event_sources().all();
            tracing::info!(connections = everyone.len(), "broadcast sent");
        }
    });
    app.start().await
}
