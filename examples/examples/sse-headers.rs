//! "Appending headers": headers go out with the first message; afterwards appending is an error.
//!
//! `cargo run --example sse-headers`, then `curl -N -i http://localhost:5000/`.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.append_header("Header-Key", "Header-value")?;
        sse.send("Olá!");
        Ok(sse.close())
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
