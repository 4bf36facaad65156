//! The shape of a small live app: a page POSTs JSON with `fetch`, the server checks it and broadcasts it
//! as JSON to every open `EventSource`, and each page shows what everyone sent.
//!
//! `cargo run --example json-broadcast`, then open http://localhost:5000/ in two tabs.
//!
//! - `GET /` serves the page (embedded in the binary).
//! - `GET /events` opens an identified stream (`chat-<n>`) that receives `chat` events whose data is a
//!   message as JSON.
//! - `POST /messages` takes `{"author": "…", "text": "…"}` as `application/json`: a body that is not JSON,
//!   not a message, or not JSON at all is answered `400` or `415` with the reason; an empty or too long
//!   text is `422`. A good message is broadcast and answered `201` with `{"id": …, "delivered": …}`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sisk::prelude::*;

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);
static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);

/// What a page sends.
#[derive(Deserialize)]
struct NewMessage {
    author: String,
    text: String,
}

/// What every page receives.
#[derive(Serialize)]
struct ChatMessage {
    id: u64,
    author: String,
    text: String,
}

/// What the sender is answered.
#[derive(Serialize)]
struct Posted {
    id: u64,
    /// How many of this node's chat streams took it (`null` when not known: on a backplane).
    delivered: Option<usize>,
}

async fn page(_req: HttpRequest) -> HttpResponse {
    HttpResponse::new().with_content(HttpContent::html(include_str!("index.html")))
}

async fn events(req: HttpRequest) -> HttpResponse {
    let client = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
    let sse = req.get_event_source(format!("chat-{client}").as_str());
    sse.with_ping(|ping| ping.start());
    sse.keep_alive().await;
    sse.close()
}

async fn post_message(req: HttpRequest) -> Result<(StatusCode, Json<Posted>), sisk::Error> {
    let message: NewMessage = req.get_json_content().await?;
    let text = message.text.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(sisk::Error::with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a message has between 1 and 500 characters",
        ));
    }
    let author = match message.author.trim() {
        "" => "anonymous".to_owned(),
        author => author.chars().take(40).collect(),
    };
    let message = ChatMessage { id: NEXT_MESSAGE.fetch_add(1, Ordering::Relaxed), author, text: text.to_owned() };
    let event = Event::json(&message)?.event("chat");
    let delivered = req.server().event_sources().broadcast_prefix("chat-", &event)?.reached;
    Ok((StatusCode::CREATED, Json(Posted { id: message.id, delivered })))
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/", page);
    r += Route::get("/events", events);
    r += Route::post("/messages", post_message);

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
