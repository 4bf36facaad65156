//! The `chat-completions` example over real sockets: the stream's keep-alives, its chunks in OpenAI's
//! format, the usage chunk and `[DONE]`; the whole answer at once; OpenAI's error object for a bad body;
//! a client that leaves cancelling the work; a resumable completion that runs on and is resumed with
//! `Last-Event-ID`, every chunk once; and OpenAI's own Python SDK (`openai` on PyPI, run by the
//! interpreter `SISK_MCP_PYTHON` names, which `.ci/run` installs) streaming from it. Without that
//! interpreter the SDK's test says so and passes, except under CI (`CI=true`), where it fails.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sisk_test_support::support::{installed, Frames, LIMIT};
use support::command::run_to_end;
use support::example::Example;

/// The model thinks long enough for a few keep-alives, then answers quickly.
const PACE: [(&str, &str); 3] = [("CHAT_THINKING_MS", "300"), ("CHAT_TOKEN_MS", "10"), ("CHAT_PING_MS", "100")];

fn start() -> Example {
    Example::start_with_env("chat-completions", &PACE)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(LIMIT).build().unwrap()
}

async fn post(example: &Example, query: &str, body: Value) -> reqwest::Response {
    let url = example.url(&format!("/v1/chat/completions{query}"));
    let request = client().post(url).header("content-type", "application/json");
    request.body(body.to_string()).send().await.unwrap()
}

/// The body as JSON (this suite's reqwest has no `json` feature).
async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn stats(example: &Example) -> Value {
    json_of(client().get(example.url("/stats")).send().await.unwrap()).await
}

/// Polls `/stats` until `done` holds of it (bounded by `LIMIT`), and returns it.
async fn stats_once(example: &Example, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let stats = stats(example).await;
        if done(&stats) {
            return stats;
        }
        assert!(started.elapsed() < LIMIT, "timed out waiting until {what}: {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One frame of an event stream, read.
#[derive(Debug, PartialEq)]
enum Frame {
    /// `: text`.
    Comment(String),
    /// An event: its `id:` if any, its data.
    Data(Option<String>, String),
    /// An `id:` alone: the log's cursor, first on an identified stream.
    Cursor(String),
    /// A named event (the log's `stale`): name and data.
    Named(String, String),
}

fn parse(frame: &str) -> Frame {
    let field = |name: &str| frame.lines().find_map(|line| line.strip_prefix(name)).map(str::to_owned);
    if let Some(comment) = frame.strip_prefix(": ") {
        return Frame::Comment(comment.trim_end().to_owned());
    }
    match (field("event: "), field("id: "), field("data: ")) {
        (Some(name), _, data) => Frame::Named(name, data.unwrap_or_default()),
        (None, id, Some(data)) => Frame::Data(id, data),
        (None, Some(id), None) => Frame::Cursor(id),
        (None, None, None) => panic!("an empty frame: {frame:?}"),
    }
}

/// Every frame until the server ends the stream.
async fn all_frames(response: reqwest::Response) -> Vec<Frame> {
    Frames::from(response).rest().await.iter().map(|frame| parse(frame)).collect()
}

fn conversation(text: &str) -> Value {
    json!([
        { "role": "system", "content": "Answer briefly." },
        { "role": "user", "content": text },
    ])
}

fn stream_request(text: &str, include_usage: bool) -> Value {
    json!({
        "model": "echo-1",
        "messages": conversation(text),
        "stream": true,
        "stream_options": { "include_usage": include_usage },
    })
}

/// The data of every event: each chunk as JSON, and the last one, `[DONE]`, checked and left out.
fn chunks(frames: &[Frame]) -> Vec<Value> {
    let data: Vec<&str> = frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Data(_, data) => Some(data.as_str()),
            _ => None,
        })
        .collect();
    let (done, chunks) = data.split_last().expect("events");
    assert_eq!(*done, "[DONE]", "the stream ends with [DONE]: {data:?}");
    chunks.iter().map(|chunk| serde_json::from_str(chunk).unwrap_or_else(|e| panic!("{e}: {chunk}"))).collect()
}

/// The contents of the deltas, one after the other.
fn text_of(chunks: &[Value]) -> String {
    chunks.iter().filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str()).collect()
}

/// Checks a whole stream of chunks of the answer to `text` (`You said:` and its words): the role
/// first, one delta per token, the stop, then the usage chunk when `usage` is asked for.
fn check_chunks(chunks: &[Value], text: &str, usage: Option<Value>) {
    let tokens = text.split_whitespace().count() + 2;
    let expected = 1 + tokens + 1 + usize::from(usage.is_some());
    assert_eq!(chunks.len(), expected, "{chunks:#?}");
    let first = &chunks[0];
    let id = first["id"].as_str().expect("an id");
    assert!(id.starts_with("chatcmpl-"), "{id}");
    let usage_field = || usage.as_ref().map(|_| Value::Null);
    let mut role = json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": first["created"],
        "model": "echo-1",
        "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "" }, "logprobs": null, "finish_reason": null }],
    });
    if let Some(null) = usage_field() {
        role["usage"] = null;
    }
    assert_eq!(first, &role, "the first chunk, exactly");
    assert!(first["created"].as_u64().unwrap() > 1_700_000_000);
    for chunk in chunks {
        assert_eq!(
            (&chunk["id"], &chunk["object"], &chunk["created"]),
            (&first["id"], &first["object"], &first["created"])
        );
    }
    for chunk in &chunks[1..=tokens] {
        let choice = &chunk["choices"][0];
        assert_eq!(
            (&choice["finish_reason"], choice["delta"].as_object().unwrap().len()),
            (&Value::Null, 1),
            "{chunk}"
        );
        assert_eq!(
            chunk.get("usage").cloned(),
            usage_field(),
            "`usage` is null until the usage chunk, absent if not asked for"
        );
    }
    assert_eq!(text_of(chunks), format!("You said: {}", text.split_whitespace().collect::<Vec<_>>().join(" ")));
    let stop = &chunks[tokens + 1];
    assert_eq!(stop["choices"], json!([{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop" }]));
    assert_eq!(stop.get("usage").cloned(), usage_field(), "{stop}");
    if let Some(usage) = usage {
        let last = &chunks[tokens + 2];
        assert_eq!(last["choices"], json!([]), "the usage chunk has no choices");
        assert_eq!(last["usage"], usage);
    }
}

/// The usage of the answer to `text` after the system message `Answer briefly.` (one token a word).
fn usage_of(text: &str) -> Value {
    let prompt = 2 + text.split_whitespace().count();
    let completion = 2 + text.split_whitespace().count();
    json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
}

#[tokio::test]
async fn a_stream_is_keep_alives_while_the_model_thinks_then_openais_chunks_then_done() {
    let example = start();
    let text = "the quick brown fox";
    let response = post(&example, "", stream_request(text, true)).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let frames = all_frames(response).await;
    // `rest` returned: after `[DONE]` the server ended the stream.
    assert_eq!(
        frames[0],
        Frame::Comment("keep-alive".into()),
        "a keep-alive first, while the model thinks: {frames:?}"
    );
    assert!(
        frames.iter().all(|frame| matches!(frame, Frame::Comment(_) | Frame::Data(None, _))),
        "comments and events without ids, as OpenAI sends (its SDK reads an id-only frame as an error): {frames:?}"
    );
    check_chunks(&chunks(&frames), text, Some(usage_of(text)));
    assert_eq!(stats(&example).await, json!({ "tokens": 6, "started": 1, "finished": 1, "cancelled": 0, "failed": 0 }));
}

#[tokio::test]
async fn without_include_usage_no_chunk_carries_usage() {
    let example = start();
    let frames = all_frames(post(&example, "", stream_request("hi", false)).await).await;
    check_chunks(&chunks(&frames), "hi", None);
}

#[tokio::test]
async fn without_stream_the_answer_is_one_chat_completion() {
    let example = start();
    let response = post(&example, "", json!({ "model": "echo-1", "messages": conversation("all at once") })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let completion: Value = json_of(response).await;
    let id = completion["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"), "{id}");
    assert_eq!(
        completion,
        json!({
            "id": id,
            "object": "chat.completion",
            "created": completion["created"],
            "model": "echo-1",
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": "You said: all at once" },
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage_of("all at once"),
        })
    );
}

#[tokio::test]
async fn a_bad_body_is_refused_with_openais_error_object() {
    let example = start();
    let user = json!([{ "role": "user", "content": "hi" }]);
    let cases = [
        (json!({ "messages": user }), 400, None),
        (json!({ "model": "m", "messages": [] }), 400, Some("messages")),
        (json!({ "model": "m", "messages": [{ "role": "system", "content": "no question" }] }), 400, Some("messages")),
        (json!({ "model": "m", "messages": [{ "role": "wizard", "content": "hi" }] }), 400, None),
        (json!({ "model": "", "messages": user }), 400, Some("model")),
        (json!({ "model": "m", "messages": user, "n": 2 }), 400, Some("n")),
        (
            json!({ "model": "m", "messages": user, "stream_options": { "include_usage": true } }),
            400,
            Some("stream_options"),
        ),
    ];
    for (body, status, param) in cases {
        let response = post(&example, "", body.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{body}");
        assert_eq!(response.headers()["content-type"], "application/json", "{body}");
        let error: Value = json_of(response).await;
        assert_eq!(error["error"]["type"], "invalid_request_error", "{body}: {error}");
        assert_eq!(error["error"]["param"], json!(param), "{body}: {error}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty(), "{error}");
        assert_eq!(error["error"]["code"], Value::Null);
    }
    let not_json = client().post(example.url("/v1/chat/completions")).header("content-type", "application/json");
    let response = not_json.body("{\"model\": ").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = json_of(response).await;
    assert!(error["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{error}");
    let plain = client().post(example.url("/v1/chat/completions")).body(r#"{"model":"m","messages":[]}"#);
    let response = plain.send().await.unwrap();
    assert_eq!(response.status(), 415, "a JSON API takes JSON only");
    let error: Value = json_of(response).await;
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let resumable_whole = post(&example, "?resumable=true", json!({ "model": "m", "messages": user })).await;
    assert_eq!(resumable_whole.status(), 400, "a resumable completion is a stream");
    assert_eq!(stats(&example).await["started"], 0, "no refused request reached the model");
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_cancels_the_generation() {
    let example = Example::start_with_env(
        "chat-completions",
        &[("CHAT_THINKING_MS", "100"), ("CHAT_TOKEN_MS", "25"), ("CHAT_PING_MS", "1000")],
    );
    let text = ["word"; 40].join(" ");
    let mut frames = Frames::from(post(&example, "", stream_request(&text, true)).await);
    let mut contents = 0;
    while contents < 3 {
        let frame = frames.next().await.expect("the stream goes on");
        contents += usize::from(frame.contains("\"content\":\"") && !frame.contains("\"content\":\"\""));
    }
    drop(frames);
    let after = stats_once(&example, "the generation is cancelled", |stats| stats["cancelled"] == 1).await;
    assert_eq!((&after["started"], &after["finished"]), (&json!(1), &json!(0)), "{after}");
    // Longer than the 39 tokens left would take: had the work gone on, the model would have made them.
    tokio::time::sleep(Duration::from_millis(42 * 25 + 200)).await;
    let later = stats(&example).await;
    assert_eq!(later["tokens"], after["tokens"], "the model stopped when the client left: {later}");
    assert!(later["tokens"].as_u64().unwrap() < 42, "{later}");
}

#[tokio::test]
async fn a_client_that_leaves_while_the_model_thinks_cancels_it_before_any_token() {
    let example = Example::start_with_env(
        "chat-completions",
        &[("CHAT_THINKING_MS", "3000"), ("CHAT_TOKEN_MS", "10"), ("CHAT_PING_MS", "100")],
    );
    let mut frames = Frames::from(post(&example, "", stream_request("too late", true)).await);
    assert_eq!(parse(&frames.next().await.unwrap()), Frame::Comment("keep-alive".into()));
    drop(frames);
    // The handler waits on the connection beside the model, so the leaving is seen at once, not at the
    // first token's send.
    let after = stats_once(&example, "the generation is cancelled", |stats| stats["cancelled"] == 1).await;
    assert_eq!(after["tokens"], 0, "cancelled while thinking: {after}");
}

/// A resumable completion of `text`: the response, and the completion's id from its header.
async fn resumable(example: &Example, text: &str) -> (Frames, String) {
    let response = post(example, "?resumable=true", stream_request(text, true)).await;
    let id = response.headers()["x-chat-completion-id"].to_str().unwrap().to_owned();
    (Frames::from(response), id)
}

/// Reads `frames` until `events` events arrived; returns them and the id of the last.
async fn read_events(frames: &mut Frames, events: usize) -> (Vec<Frame>, String) {
    let mut read = Vec::new();
    let mut cursor = None;
    while read.iter().filter(|frame| matches!(frame, Frame::Data(..))).count() < events {
        let frame = parse(&frames.next().await.expect("the stream goes on"));
        match &frame {
            Frame::Data(id, _) => cursor = Some(id.clone().expect("a resumable event has an id")),
            Frame::Cursor(id) => cursor = Some(id.clone()),
            Frame::Comment(_) => {}
            Frame::Named(..) => panic!("{frame:?}"),
        }
        read.push(frame);
    }
    (read, cursor.expect("a cursor"))
}

async fn resume(example: &Example, id: &str, cursor: &str) -> Vec<Frame> {
    let url = example.url(&format!("/v1/chat/completions/{id}/stream"));
    all_frames(client().get(url).header("Last-Event-ID", cursor).send().await.unwrap()).await
}

/// The log's position in an event id (`<epoch>.<millis>-<sequence>`), to compare ids by.
fn position(id: &str) -> (u64, u64) {
    let (_epoch, position) = id.split_once('.').expect("an epoch");
    let (millis, sequence) = position.split_once('-').expect("a sequence");
    (millis.parse().unwrap(), sequence.parse().unwrap())
}

/// Checks that two reads of one completion are every event once, in order, with ids that only grow.
fn check_resumed(first: Vec<Frame>, rest: Vec<Frame>, text: &str) {
    let all: Vec<Frame> = first.into_iter().chain(rest).collect();
    let positions: Vec<(u64, u64)> = all
        .iter()
        .filter_map(|frame| match frame {
            Frame::Data(Some(id), _) => Some(position(id)),
            Frame::Data(None, data) => panic!("an event without an id: {data}"),
            _ => None,
        })
        .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "ids only grow, none twice: {positions:?}");
    check_chunks(&chunks(&all), text, Some(usage_of(text)));
}

#[tokio::test]
async fn a_resumable_completion_resumed_mid_stream_has_every_chunk_once_in_order() {
    let example = Example::start_with_env(
        "chat-completions",
        &[("CHAT_THINKING_MS", "200"), ("CHAT_TOKEN_MS", "30"), ("CHAT_PING_MS", "100")],
    );
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let (mut frames, id) = resumable(&example, text).await;
    assert!(id.starts_with("chatcmpl-"), "{id}");
    let (first, cursor) = read_events(&mut frames, 3).await;
    assert!(matches!(first[0], Frame::Cursor(_)), "an identified stream starts with the log's cursor: {first:?}");
    assert!(first.contains(&Frame::Comment("keep-alive".into())), "keep-alives while the model thinks: {first:?}");
    drop(frames);
    let rest = resume(&example, &id, &cursor).await;
    check_resumed(first, rest, text);
    let done = stats_once(&example, "the generation finishes", |stats| stats["finished"] == 1).await;
    assert_eq!(done["cancelled"], 0, "{done}");
}

#[tokio::test]
async fn a_resumable_completion_runs_on_without_its_client_and_a_later_resume_gets_the_rest() {
    let example = start();
    let text = "nobody is listening now";
    let (mut frames, id) = resumable(&example, text).await;
    let (first, cursor) = read_events(&mut frames, 1).await;
    drop(frames);
    stats_once(&example, "the generation finishes with nobody connected", |stats| stats["finished"] == 1).await;
    let rest = resume(&example, &id, &cursor).await;
    // `resume` returned: the replay reached `[DONE]` and the server closed the stream again.
    check_resumed(first, rest, text);
}

#[tokio::test]
async fn a_resume_the_log_cannot_serve_is_told_so() {
    let example = start();
    let stream = |id: &str| client().get(example.url(&format!("/v1/chat/completions/{id}/stream")));
    let stale = all_frames(stream("chatcmpl-1").header("Last-Event-ID", "42").send().await.unwrap()).await;
    assert_eq!(stale[0], Frame::Named("stale".into(), "unknown".into()), "{stale:?}");
    let Frame::Data(None, error) = &stale[1] else { panic!("{stale:?}") };
    let error: Value = serde_json::from_str(error).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    assert_eq!(stale.len(), 2, "then the end: {stale:?}");
    let no_cursor = stream("chatcmpl-1").send().await.unwrap();
    assert_eq!(no_cursor.status(), 400);
    let error: Value = json_of(no_cursor).await;
    assert_eq!(error["error"]["param"], "Last-Event-ID");
    assert_eq!(stream("not-a-completion").header("Last-Event-ID", "42").send().await.unwrap().status(), 404);
}

#[test]
fn openais_python_sdk_streams_a_completion_and_gets_a_whole_one() {
    let Some(python) = installed("SISK_MCP_PYTHON") else { return };
    let example = start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/openai_python_client.py");
    let output = run_to_end(Command::new(python).arg(script).arg(example.url("/v1")), LIMIT * 6);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed:\n{stderr}");
    let line = String::from_utf8_lossy(&output.stdout);
    let seen: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}\n{stderr}"));
    let text = "streamed through the official SDK";
    assert_eq!(seen["sdk"].as_str().map(|v| v.split('.').next()), Some(Some("3")), "{seen}");
    assert_eq!(seen["streamed"], format!("You said: {text}"), "{seen}");
    assert_eq!(seen["roles"], json!(["assistant"]), "{seen}");
    assert_eq!(seen["finish_reasons"], json!(["stop"]), "{seen}");
    assert_eq!(seen["usage"], usage_of(text), "{seen}");
    assert_eq!(seen["chunks_with_usage"], 1, "{seen}");
    assert_eq!(seen["whole"], "You said: at once", "{seen}");
    assert_eq!(seen["whole_usage"], usage_of("at once"), "{seen}");
    assert_eq!(
        seen["bad_request"],
        json!({ "status": 400, "type": "invalid_request_error", "param": "messages" }),
        "{seen}"
    );
}
