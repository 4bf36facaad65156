//! A language model's output streamed in OpenAI's chat-completions format, so that OpenAI's own SDKs
//! (and the many tools built on them) can talk to it; the model is a deterministic fake (`model.rs`).
//!
//! `cargo run --example chat-completions`, then:
//!
//! ```sh
//! curl -N localhost:5000/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}'
//! ```
//!
//! - `POST /v1/chat/completions`: without `"stream": true`, one `chat.completion` object. With it, an
//!   event stream: SSE comments (`: keep-alive`) every second while the model thinks, then one
//!   `chat.completion.chunk` per event — the role, the content deltas, the stop, the usage chunk if
//!   `stream_options.include_usage` — and `data: [DONE]`. If the client leaves, the generation is
//!   cancelled. A body that is not a request is answered `400` with OpenAI's error object.
//! - `POST /v1/chat/completions?resumable=true` (with `"stream": true`): the generation runs on whether
//!   or not the client stays. Its events go through the server's event log to the stream named
//!   `chat/<id>`; the answer's `X-Chat-Completion-Id` header gives the id, and every event carries an
//!   `id:` to resume from.
//! - `GET /v1/chat/completions/<id>/stream` with `Last-Event-ID`: the events after that one — those
//!   missed, then the live ones — up to `[DONE]`.
//! - `GET /stats`: how many generations `started`, `finished`, were `cancelled` or `failed`, and how many
//!   `tokens` the model made in all.
//!
//! `CHAT_THINKING_MS`, `CHAT_TOKEN_MS` and `CHAT_PING_MS` set the model's pace and the keep-alive's
//! interval (1500, 80 and 1000 by default).

mod model;
mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sisk::http::streams::{Audience, ResumeState};
use sisk::prelude::*;

use model::{millis_from_env, Generation, Pace};
use wire::{ApiError, ChatRequest, Completion};

/// The header that tells a resumable completion's id.
const COMPLETION_ID_HEADER: &str = "X-Chat-Completion-Id";

/// How long a resumed stream may stay without an event (pings do not count) before it is closed: a
/// cursor already past the end of its completion, or a completion that never existed, waits no longer.
const RESUME_IDLE: Duration = Duration::from_secs(60);

/// What the handlers share, given to the builder with `use_state`.
#[derive(Debug)]
struct Chat {
    pace: Pace,
    ping: Duration,
    stats: Arc<Stats>,
}

/// How the generations went, since the server started.
#[derive(Debug, Default)]
struct Stats {
    /// Tokens the model made, in all: it stops growing when a generation is cancelled.
    tokens: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
}

/// How one generation ended.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Every event went out, `[DONE]` last.
    Finished,
    /// The client left (or the server stopped) and the work was dropped.
    Cancelled,
    /// An event could not be published (a backplane's broker unreachable).
    Failed,
}

/// `GET /stats`.
#[derive(Serialize)]
struct StatsView {
    tokens: u64,
    started: u64,
    finished: u64,
    cancelled: u64,
    failed: u64,
}

impl Stats {
    fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Finished => &self.finished,
            Outcome::Cancelled => &self.cancelled,
            Outcome::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn view(&self) -> StatsView {
        StatsView {
            tokens: self.tokens.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Where the events of a stream go.
enum Sink {
    /// Straight to the one connection that asked (cancel-on-leave).
    Connection(LocalEventSource),
    /// Through the event log to whoever holds the completion's stream, now or after a reconnection.
    Log(HttpEventSourceCollection, Audience),
}

impl Sink {
    /// Sends one event; `false` when the connection is gone.
    async fn send(&self, event: &Event) -> Result<bool, sisk::Error> {
        match self {
            Sink::Connection(sse) => Ok(sse.send_event_async(event).await),
            Sink::Log(sources, audience) => sources.publish_async(audience.clone(), event).await.map(|_| true),
        }
    }

    /// Sends the last event; through the log, it also closes the streams, and a replay that reaches it
    /// closes again.
    async fn end(&self, event: &Event) -> Result<bool, sisk::Error> {
        match self {
            Sink::Connection(_) => self.send(event).await,
            Sink::Log(sources, audience) => {
                sources.publish_and_close_async(audience.clone(), event).await.map(|_| true)
            }
        }
    }
}

/// Streams a generation to `sink` as chunks, then `[DONE]`.
async fn stream(completion: &Completion, generation: Generation, sink: &Sink, stats: &Stats) -> Outcome {
    match stream_events(completion, generation, sink, stats).await {
        Ok(true) => Outcome::Finished,
        Ok(false) => Outcome::Cancelled,
        Err(err) => {
            tracing::warn!(id = completion.id, "the completion could not be streamed: {err}");
            Outcome::Failed
        }
    }
}

async fn stream_events(
    completion: &Completion,
    mut generation: Generation,
    sink: &Sink,
    stats: &Stats,
) -> Result<bool, sisk::Error> {
    let usage = generation.usage();
    let mut first = true;
    while let Some(token) = generation.next_token().await {
        stats.tokens.fetch_add(1, Ordering::Relaxed);
        // The role goes out with the first token, once the model has done its thinking.
        if first && !sink.send(&Event::json(&completion.role_chunk())?).await? {
            return Ok(false);
        }
        first = false;
        if !sink.send(&Event::json(&completion.content_chunk(&token))?).await? {
            return Ok(false);
        }
    }
    if !sink.send(&Event::json(&completion.stop_chunk())?).await? {
        return Ok(false);
    }
    if completion.include_usage && !sink.send(&Event::json(&completion.usage_chunk(usage))?).await? {
        return Ok(false);
    }
    sink.end(&Event::new().data("[DONE]")).await
}

/// A new completion id: the clock and a counter, so ids differ across restarts and across nodes.
fn new_completion_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("chatcmpl-{nanos:x}{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `POST /v1/chat/completions`.
async fn create(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let chat: &Chat = req.state()?;
    let request = match ChatRequest::read(&req).await {
        Ok(request) => request,
        Err(refused) => return Ok(refused.into_response()),
    };
    let resumable = req.query().get("resumable") == Some("true");
    if resumable && !request.streams() {
        return Ok(
            ApiError::invalid("resumable", "a resumable completion is a stream: set 'stream' to true").into_response()
        );
    }
    let completion = Completion {
        id: new_completion_id(),
        created: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
        model: request.model.clone(),
        include_usage: request.includes_usage(),
    };
    let generation = Generation::start(&request.messages, chat.pace);
    if !request.streams() {
        chat.stats.started.fetch_add(1, Ordering::Relaxed);
        let (content, usage) = generation.complete().await;
        chat.stats.tokens.fetch_add(usage.completion_tokens as u64, Ordering::Relaxed);
        chat.stats.record(Outcome::Finished);
        return Ok(Json(completion.whole(&content, usage)).into_response());
    }
    if resumable {
        run_on(req, completion, generation).await
    } else {
        cancel_on_leave(req, completion, generation).await
    }
}

/// The default: the generation lives as long as its client's connection.
async fn cancel_on_leave(
    req: HttpRequest,
    completion: Completion,
    generation: Generation,
) -> Result<HttpResponse, sisk::Error> {
    let chat: &Chat = req.state()?;
    // Anonymous: no event ids, as OpenAI sends none (its SDK reads an event without data as an error).
    let sse = req.get_event_source(None);
    if sse.is_refused() {
        return Ok(sse.close());
    }
    chat.stats.started.fetch_add(1, Ordering::Relaxed);
    sse.with_ping(|ping| ping.start_with("keep-alive", chat.ping));
    let sink = Sink::Connection(sse.clone());
    let outcome = tokio::select! {
        // Returns as soon as the client closes its connection: dropping the other branch drops the
        // generation, and with it the work.
        () = sse.keep_alive() => Outcome::Cancelled,
        outcome = stream(&completion, generation, &sink, &chat.stats) => outcome,
    };
    chat.stats.record(outcome);
    Ok(sse.close())
}

/// `?resumable=true`: the generation runs to its end in a task of its own, publishing to the
/// completion's stream on the event log; this connection is its first reader.
async fn run_on(req: HttpRequest, completion: Completion, generation: Generation) -> Result<HttpResponse, sisk::Error> {
    let chat: &Chat = req.state()?;
    let identifier = format!("chat/{}", completion.id);
    // Registered before the first event is published, so it misses none; its first frame carries the
    // log's head as a cursor, for a client that loses it before any chunk.
    let sse = req.get_event_source(identifier.as_str());
    if sse.is_refused() {
        return Ok(sse.close());
    }
    sse.append_header(COMPLETION_ID_HEADER, completion.id.as_str())?;
    chat.stats.started.fetch_add(1, Ordering::Relaxed);
    sse.with_ping(|ping| ping.start_with("keep-alive", chat.ping));
    let sink = Sink::Log(req.server().event_sources().clone(), Audience::Identifier(identifier.into()));
    let stats = chat.stats.clone();
    tokio::spawn(async move {
        let outcome = stream(&completion, generation, &sink, &stats).await;
        stats.record(outcome);
    });
    // Returns when the client leaves, or when `[DONE]` closes the stream.
    sse.keep_alive().await;
    Ok(sse.close())
}

/// `GET /v1/chat/completions/<id>/stream`: a resumable completion's stream again, from `Last-Event-ID`.
async fn resume(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let chat: &Chat = req.state()?;
    let id = req.route_parameter("id").unwrap_or_default();
    if !id.starts_with("chatcmpl-") {
        return Ok(HttpResponse::from_status(StatusCode::NOT_FOUND));
    }
    if req.last_event_id().is_none() {
        let missing = "resuming needs the id of the last event received, in 'Last-Event-ID'";
        return Ok(ApiError::invalid("Last-Event-ID", missing).into_response());
    }
    let sse = req.get_event_source(format!("chat/{id}").as_str());
    if let ResumeState::Stale { reason } = sse.resume_state() {
        // The log cannot give back what was missed without a gap (the client got the `stale` event):
        // an error in the stream, as OpenAI sends one, and the end.
        let gone = ApiError::invalid("Last-Event-ID", format!("the completion can no longer be resumed ({reason})"));
        sse.send_json(&gone.body())?;
        return Ok(sse.close());
    }
    sse.with_ping(|ping| ping.start_with("keep-alive", chat.ping));
    sse.wait_for_fail(RESUME_IDLE).await;
    Ok(sse.close())
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::post("/v1/chat/completions", create);
    r += Route::get("/v1/chat/completions/<id>/stream", resume);
    r += Route::get("/stats", |req: HttpRequest| async move {
        Ok::<_, sisk::Error>(Json(req.state::<Chat>()?.stats.view()))
    });

    let chat = Chat { pace: Pace::from_env(), ping: millis_from_env("CHAT_PING_MS", 1000), stats: Arc::default() };
    let app = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_state(chat)
        .use_router(r)
        .build()?;
    app.start().await
}
