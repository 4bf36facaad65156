//! The benchmark contract ([`sisk_bench::contract`]) served by sisk, written as its documentation shows:
//! identified event sources kept open with `keep_alive` and pinged every 15 s (as axum's default
//! keep-alive), and the server's own collection for broadcasts and counts; WebSockets the same way
//! (`get_web_socket`, `server.web_sockets()`).
//!
//! `server-sisk [address]` (default `127.0.0.1:0`); prints `listening on <address>`.

use std::time::Duration;

use sisk::prelude::*;
use sisk_bench::contract::{announce, broadcast_prefix, server_address, HELLO, QUEUE_CAPACITY};

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    let mut r = Router::new();
    r += Route::get("/hello", |_req: HttpRequest| async { HELLO });
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        // Pings on, every 15 s like axum's `KeepAlive::default()`: what a stream behind a proxy needs.
        sse.with_ping(|ping| ping.start_with("ping", Duration::from_secs(15)));
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::post("/broadcast", |req: HttpRequest| async move {
        let prefix = broadcast_prefix(req.uri().query());
        let body = req.body_string().await?;
        let event = Event::new().data(body);
        let published = req.server().event_sources().broadcast_prefix(&prefix, &event)?;
        Ok::<_, sisk::Error>(published.reached.unwrap_or_default().to_string())
    });
    r += Route::get("/stats", |req: HttpRequest| async move {
        req.server().event_sources().active_connections().to_string()
    });
    r += Route::get("/ws/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let ws = req.get_web_socket(id.as_str()).await?;
        while let Some(message) = ws.receive_message(None).await {
            ws.send(message);
        }
        Ok::<_, sisk::Error>(ws.close().await)
    });
    r += Route::post("/ws-broadcast", |req: HttpRequest| async move {
        let prefix = broadcast_prefix(req.uri().query());
        let body = req.body_string().await?;
        let published = req.server().web_sockets().broadcast_prefix(&prefix, body)?;
        Ok::<_, sisk::Error>(published.reached.unwrap_or_default().to_string())
    });
    r += Route::get("/ws-stats", |req: HttpRequest| async move {
        req.server().web_sockets().active_connections().to_string()
    });

    let url = format!("http://{}/", server_address());
    let app = HttpServer::create_builder()
        .use_listening_port(url.as_str())
        .use_configuration(|config| {
            config.event_source_queue_capacity = QUEUE_CAPACITY;
            config.web_socket_queue_capacity = QUEUE_CAPACITY;
        })
        .use_router(r)
        .build()?;
    announce(app.local_addr());
    app.start().await
}
