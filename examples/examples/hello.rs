//! The smallest sisk server: a few routes, a parameter, a JSON answer.
//!
//! `cargo run --example hello`, then open http://localhost:5000/.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |_req| async { "Olá, mundo!" });
    r += Route::get("/hello/<name>", |req: HttpRequest| async move {
        format!("Olá, {}!", req.route_parameter("name").unwrap_or("mundo"))
    });
    r += Route::post("/echo", |req: HttpRequest| async move {
        let body = req.body_string().await?;
        Ok(HttpResponse::new().with_content(HttpContent::json(format!("{{\"length\":{}}}", body.len()))))
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
