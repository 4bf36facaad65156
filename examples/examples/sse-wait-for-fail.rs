//! "Wait-for-fail connections": an identified connection that stays open until the client leaves or
//! 15 seconds pass without a message, and a background task that finds it by identifier and talks to it.
//!
//! `cargo run --example sse-wait-for-fail`, then `curl -N http://localhost:5000/`.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source("my-index-connection");
        sse.wait_for_fail(Duration::from_secs(15)).await; // 15 s without any message ends it
        sse.close()
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    let server = app.server();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            if let Some(evs) = server.event_sources().get_by_identifier("my-index-connection") {
                // the connection is still alive
                evs.send("Olá novamente!");
            }
        }
    });
    app.start().await
}
