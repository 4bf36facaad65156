//! sisk served by a hand-written hyper server: `into_service()` makes the router a `tower::Service`,
//! which any server built on hyper can run; this one accepts connections itself and gives handlers
//! the client's address through a `SocketAddr` extension.
//!
//! `cargo run --example hyper-service`, then `curl http://localhost:5000/whoami`.

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use sisk::prelude::*;
use tower::ServiceExt;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/whoami", |req: HttpRequest| async move { format!("you are {}", req.remote_address()) });
    let sisk = HttpServer::create_builder().use_router(r).into_service()?;

    let listener = sisk_examples::listener::bind_listener("http://localhost:5000/").await?;
    loop {
        let Ok((stream, remote)) = listener.accept().await else { continue };
        let sisk = sisk.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(remote);
            sisk.clone().oneshot(request)
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
    }
}
