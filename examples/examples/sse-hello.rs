//! "Creating an SSE connection": one message, then the server closes the stream.
//!
//! `cargo run --example sse-hello`, then `curl -N http://localhost:5000/`.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("Olá, mundo!");
        sse.close()
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
