//! sisk inside an axum app: the sisk router, made into a `tower::Service` with `into_service()`, is
//! nested under `/sisk` beside axum's own routes and wrapped in a tower-http layer; its event streams
//! flow through axum as they are written.
//!
//! `cargo run --example axum-nest`, then `curl http://localhost:5000/`, `curl -i http://localhost:5000/sisk/hello`
//! and `curl -N http://localhost:5000/sisk/clock`.

use axum::http::{header, HeaderValue};
use sisk::prelude::*;
use tower_http::set_header::SetResponseHeaderLayer;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/hello", |_req| async { "Olá from sisk, inside axum" });
    r += Route::get("/clock", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        for tick in 0..5 {
            sse.send(format!("tick {tick}"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sse.close()
    });
    let sisk = HttpServer::create_builder().use_router(r).into_service()?;
    let server = sisk.server().clone();

    let tagged = SetResponseHeaderLayer::overriding(header::SERVER, HeaderValue::from_static("sisk in axum"));
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "hello from axum" }))
        .nest_service("/sisk", tower::ServiceBuilder::new().layer(tagged).service(sisk));

    let listener = sisk_examples::listener::bind_listener("http://localhost:5000/").await?;
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        server.stop(); // ends sisk's event streams cleanly, so axum's graceful shutdown can finish
    };
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(sisk::Error::internal)
}
