//! The book's first server (getting-started.md) as a new user writes it: no logging set up. sisk still
//! says where it listens, and a handler's panic, on standard error.
//!
//! `cargo run --example first-server`, then open http://localhost:5000/hello/Ana.

use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |_req| async { "Hello, world!" });
    r += Route::get("/hello/<name>", |req: HttpRequest| async move {
        format!("Hello, {}!", req.route_parameter("name").unwrap_or("world"))
    });
    r += Route::get("/bug", |_req| async {
        if true {
            panic!("a bug in a handler");
        }
        "never"
    });

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
