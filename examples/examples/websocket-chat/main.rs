//! A chat over WebSockets: what one tab types appears in every tab.
//!
//! `cargo run --example websocket-chat`, then open http://localhost:5000/ in two tabs.
//!
//! - `GET /` serves the page (embedded in the binary).
//! - `GET /chat` accepts a WebSocket identified `chat-<n>`, pinged every 2 s; each text it receives is
//!   broadcast to every chat socket as `<n>: <text>`.
//! - `GET /echo` accepts a WebSocket that answers each message with `echo: <message>`, and after 1 s of
//!   silence says `timed out` and closes (1000): Sisk's receive loop with a timeout.
//! - `GET /stats` tells, as JSON, each chat socket's pongs: the browsers' answers to the pings.

use std::sync::atomic::{AtomicU64, Ordering};

use sisk::prelude::*;

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

async fn page(_req: HttpRequest) -> HttpResponse {
    HttpResponse::new().with_content(HttpContent::html(include_str!("index.html")))
}

async fn chat(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let client = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
    let ws = req.get_web_socket(format!("chat-{client}").as_str()).await?;
    ws.with_ping(|ping| ping.start_with("ping", Duration::from_secs(2)));
    ws.send(format!("welcome, you are {client}"));
    while let Some(message) = ws.receive_message(None).await {
        let text = message.get_string();
        let text = text.trim();
        if !text.is_empty() {
            let line = format!("{client}: {}", text.chars().take(500).collect::<String>());
            // To every chat socket: on a backplane, of every node.
            ws.server().web_sockets().broadcast_prefix("chat-", line)?;
        }
    }
    Ok(ws.close().await)
}

async fn echo(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let ws = req.get_web_socket(None).await?;
    while let Some(message) = ws.receive_message(Duration::from_secs(1)).await {
        ws.send_async(format!("echo: {}", message.get_string())).await;
    }
    ws.send_async("timed out").await;
    Ok(ws.close().await)
}

async fn stats(req: HttpRequest) -> Json<serde_json::Value> {
    let sockets = req.server().web_sockets().all();
    let pongs: serde_json::Map<String, serde_json::Value> =
        sockets.iter().filter_map(|ws| Some((ws.identifier()?.to_owned(), ws.pongs_received().into()))).collect();
    Json(serde_json::json!({ "pongs": pongs }))
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/", page);
    r += Route::get("/chat", chat);
    r += Route::get("/echo", echo);
    r += Route::get("/stats", stats);

    let app = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_configuration(|config| config.web_socket_max_message_size = 64 * 1024)
        .use_router(r)
        .build()?;
    app.start().await
}
