//! Behind a reverse proxy: the server trusts the proxies on this machine and on a private network, and
//! takes the client's address, the scheme and the host from their forwarding headers (`Forwarded`,
//! `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`). Anyone else's are ignored.
//!
//! `cargo run --example behind-proxy`, then
//! `curl -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: shop.example' http://localhost:5000/`.

use sisk::http::ForwardingResolver;
use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/", |req: HttpRequest| async move {
        format!(
            "client {}, {}, host {}, {}",
            req.remote_address().ip(),
            if req.is_secure() { "secure" } else { "not secure" },
            req.host().unwrap_or("unknown"),
            req.full_url()
        )
    });

    let app = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_forwarding_resolver(ForwardingResolver::trusting(["127.0.0.1", "::1", "10.0.0.0/8"])?)
        .use_router(r)
        .build()?;
    app.start().await
}
