//! The benchmark contract ([`sisk_bench::contract`]) served by axum as its documentation shows: a
//! `Router` with extractors, `Sse` with `KeepAlive`, and the shared [`StreamRegistry`] held in the
//! router's state, each stream turning a broadcast message into an `Event`; and its `WebSocketUpgrade`,
//! each socket a task that selects between the client's next message (echoed) and the registry's
//! (a broadcast), over a second registry.
//!
//! `server-axum [address]` (default `127.0.0.1:0`); prints `listening on <address>`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use sisk_bench::contract::{announce, server_address, HELLO};
use sisk_bench::registry::StreamRegistry;
use tokio_stream::{Stream, StreamExt};

type Registry = Arc<StreamRegistry<Arc<str>>>;

/// The streams' registry and the sockets'.
#[derive(Clone, Default)]
struct Registries {
    streams: Registry,
    sockets: Registry,
}

impl axum::extract::FromRef<Registries> for Registry {
    fn from_ref(registries: &Registries) -> Registry {
        registries.streams.clone()
    }
}

async fn ws(State(registries): State<Registries>, Path(id): Path<String>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |mut socket| async move {
        let mut broadcasts = registries.sockets.open(&id);
        loop {
            tokio::select! {
                received = socket.recv() => match received {
                    Some(Ok(Message::Text(text))) => {
                        if socket.send(Message::Text(text)).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return,
                },
                message = broadcasts.recv() => match message {
                    Some(message) => {
                        if socket.send(Message::Text((&*message).into())).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    })
}

async fn ws_broadcast(
    State(registries): State<Registries>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> String {
    let prefix = query.get("prefix").map_or("", String::as_str);
    registries.sockets.broadcast(prefix, &Arc::from(body)).to_string()
}

async fn ws_stats(State(registries): State<Registries>) -> String {
    registries.sockets.len().to_string()
}

async fn hello() -> &'static str {
    HELLO
}

async fn sse(
    State(registry): State<Registry>,
    Path(id): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = registry.open(&id).map(|message| Ok(Event::default().data(&*message)));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn broadcast(
    State(registry): State<Registry>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> String {
    let prefix = query.get("prefix").map_or("", String::as_str);
    registry.broadcast(prefix, &Arc::from(body)).to_string()
}

async fn stats(State(registry): State<Registry>) -> String {
    registry.len().to_string()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/sse/{id}", get(sse))
        .route("/broadcast", post(broadcast))
        .route("/stats", get(stats))
        .route("/ws/{id}", get(ws))
        .route("/ws-broadcast", post(ws_broadcast))
        .route("/ws-stats", get(ws_stats))
        .with_state(Registries::default());
    let listener = tokio::net::TcpListener::bind(server_address()).await?;
    announce(listener.local_addr()?);
    let listener = listener.tap_io(|socket| {
        let _ = socket.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
