//! MCP on many nodes, on a real `redis-server`: `mcp-cluster-node` processes share one event log and the
//! sessions' records, and a client that plays the load balancer sends each request where the test says.
//! A session opened on one node is served by another and ended from either; a tool call whose
//! connection drops resumes on another node with every message after its `Last-Event-ID` and its
//! answer; the answer to the server's question, or a cancellation, sent to another node reaches the
//! call that waits; a resource's update reaches its subscriber once, on the node that holds its GET
//! stream, whichever node it subscribed on and the update came from; a node killed mid-call loses nothing the log committed, and its session goes on
//! elsewhere.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sisk_tests::events::{client, EventReader};
use sisk_tests::node::Node;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::LIMIT;

const NODE: &str = env!("CARGO_BIN_EXE_mcp-cluster-node");
const VERSION: &str = "2025-11-25";

fn two_nodes(redis: &RedisServer) -> (Node, Node) {
    let url = redis.url();
    (Node::start(NODE, Some(&url)), Node::start(NODE, Some(&url)))
}

/// A request to `node`'s endpoint, in `session`.
fn to(node: &Node, method: Method, session: Option<&str>) -> reqwest::RequestBuilder {
    let request = client()
        .request(method, node.url("/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", VERSION);
    match session {
        Some(id) => request.header("Mcp-Session-Id", id),
        None => request,
    }
}

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    tokio::time::timeout(LIMIT, request.send()).await.expect("answered in time").expect("answered")
}

async fn post(node: &Node, session: Option<&str>, message: Value) -> reqwest::Response {
    send(to(node, Method::POST, session).header("Content-Type", "application/json").body(message.to_string())).await
}

/// Opens a session on `node`; returns its id.
async fn initialize(node: &Node) -> String {
    initialize_with(node, json!({})).await
}

/// Opens a session on `node` for a client with `capabilities`; returns its id.
async fn initialize_with(node: &Node, capabilities: Value) -> String {
    let client = json!({ "name": "t", "version": "1" });
    let params = json!({ "protocolVersion": VERSION, "capabilities": capabilities, "clientInfo": client });
    let answer = post(node, None, json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params })).await;
    assert_eq!(answer.status(), 200);
    let session = answer.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    assert_eq!(post(node, Some(&session), initialized).await.status(), 202);
    session
}

/// `tools/call` of `tool` with `arguments`, asking for progress under the request's id.
fn call(id: u64, tool: &str, arguments: Value) -> Value {
    let params = json!({ "name": tool, "arguments": arguments, "_meta": { "progressToken": id } });
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
}

/// The next JSON-RPC message of a stream, with its event id (the priming event, with no data, is
/// skipped); `None` when the stream ends or stays quiet for `within`.
async fn next_message(reader: &mut EventReader, within: Duration) -> Option<(String, Value)> {
    loop {
        let frame = reader.next_within(within).await?;
        match frame.data {
            Some(data) if !data.is_empty() => {
                let id = frame.id.expect("every message of an MCP stream has an id");
                return Some((id, serde_json::from_str(&data).expect("JSON-RPC")));
            }
            _ => continue,
        }
    }
}

/// The step of a progress notification.
fn progress(message: &Value) -> Option<u64> {
    (message["method"] == "notifications/progress").then(|| message["params"]["progress"].as_f64().unwrap() as u64)
}

/// Reads progress notifications until the answer; returns the steps and the answer's text.
async fn steps_and_answer(reader: &mut EventReader) -> (Vec<u64>, String) {
    let mut steps = Vec::new();
    loop {
        let (_, message) = next_message(reader, LIMIT).await.expect("the answer in time");
        match progress(&message) {
            Some(step) => steps.push(step),
            None => {
                let text = message["result"]["content"][0]["text"].as_str().expect("a tool's text");
                return (steps, text.to_owned());
            }
        }
    }
}

/// Calls `tool` on `node` in `session`: its steps and its answer, after which the stream ends.
async fn call_on(node: &Node, session: &str, id: u64, tool: &str, arguments: Value) -> (Vec<u64>, String) {
    let answer = post(node, Some(session), call(id, tool, arguments)).await;
    assert_eq!(answer.status(), 200);
    let mut reader = EventReader::from_response(answer);
    let outcome = steps_and_answer(&mut reader).await;
    assert!(reader.ends_within(LIMIT).await, "a call's stream ends after its answer");
    outcome
}

/// Resumes, on `node`, the stream whose last message the client had is `last_event_id`.
async fn resume(node: &Node, session: &str, last_event_id: &str) -> EventReader {
    let resumed = send(to(node, Method::GET, Some(session)).header("Last-Event-ID", last_event_id)).await;
    assert_eq!(resumed.status(), 200, "{:?}", resumed.text().await);
    EventReader::from_response(resumed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_on_one_node_is_served_by_another_and_ended_from_either() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = two_nodes(&redis);
    let session = initialize(&a).await;

    let (_, on_a) = call_on(&a, &session, 1, "node", json!({})).await;
    let (_, on_b) = call_on(&b, &session, 2, "node", json!({})).await;
    assert_ne!(on_a, on_b, "each node ran the call it was sent");
    let (steps, counted) = call_on(&b, &session, 3, "count", json!({ "to": 3, "every_ms": 1 })).await;
    assert_eq!((steps, counted), (vec![1, 2, 3], format!("counted to 3 on {on_b}")));
    let set_level = json!({ "jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": { "level": "error" } });
    assert_eq!(post(&b, Some(&session), set_level).await.status(), 200);

    let get = send(to(&a, Method::GET, Some(&session))).await;
    assert_eq!(get.status(), 200);
    let mut get = EventReader::from_response(get);
    assert_eq!(send(to(&b, Method::DELETE, Some(&session))).await.status(), 200);
    assert!(get.ends_within(LIMIT).await, "the session's GET stream on the other node closes when it ends");
    for node in [&a, &b] {
        let list = json!({ "jsonrpc": "2.0", "id": 5, "method": "tools/list" });
        assert_eq!(post(node, Some(&session), list).await.status(), 404, "an ended session is gone on every node");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_connection_drops_resumes_on_another_node_with_the_rest_and_its_answer() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = two_nodes(&redis);
    let session = initialize(&a).await;
    let on_a = call_on(&a, &session, 1, "node", json!({})).await.1;

    let answer = post(&a, Some(&session), call(2, "count", json!({ "to": 30, "every_ms": 30 }))).await;
    let mut first = EventReader::from_response(answer);
    let mut last_id = String::new();
    for expected in 1..=5 {
        let (id, message) = next_message(&mut first, LIMIT).await.expect("progress in time");
        assert_eq!(progress(&message), Some(expected));
        last_id = id;
    }
    drop(first); // the network goes; the call goes on on node a

    let mut resumed = resume(&b, &session, &last_id).await;
    let (steps, counted) = steps_and_answer(&mut resumed).await;
    assert_eq!(steps, (6..=30).collect::<Vec<_>>(), "every step after the cursor, once, in order");
    assert_eq!(counted, format!("counted to 30 on {on_a}"), "the answer of the node that ran the call");
    assert!(resumed.ends_within(LIMIT).await, "the resumed stream ends after the answer, on the other node too");

    let mut again = resume(&b, &session, &last_id).await;
    assert_eq!(steps_and_answer(&mut again).await, (steps, counted), "a second resume replays the same");
    assert!(again.ends_within(LIMIT).await, "and ends there too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_call_loses_nothing_the_log_committed_and_its_session_goes_on() {
    let Some(redis) = RedisServer::start() else { return };
    let (mut a, b) = two_nodes(&redis);
    let session = initialize(&a).await;

    let answer = post(&a, Some(&session), call(1, "count", json!({ "to": 100_000, "every_ms": 5 }))).await;
    let mut on_a = EventReader::from_response(answer);
    let mut cursor = String::new();
    for expected in 1..=10 {
        let (id, message) = next_message(&mut on_a, LIMIT).await.expect("progress in time");
        assert_eq!(progress(&message), Some(expected));
        cursor = id;
    }
    // A second client follows the same call from node b, live, while node a runs it.
    let mut on_b = resume(&b, &session, &cursor).await;
    let mut seen_on_a = Vec::new();
    for _ in 0..20 {
        let (_, message) = next_message(&mut on_a, LIMIT).await.expect("progress in time");
        seen_on_a.push(progress(&message).unwrap());
    }
    a.kill();

    let mut followed = Vec::new();
    while let Some((_, message)) = next_message(&mut on_b, Duration::from_secs(2)).await {
        followed.push(progress(&message).expect("only progress: the call never answered"));
    }
    let last = *followed.last().expect("node b followed the call");
    assert_eq!(followed, (11..=last).collect::<Vec<_>>(), "no gap and nothing twice");
    assert!(last >= *seen_on_a.last().unwrap(), "node b has all node a's client saw: {last} < {seen_on_a:?}");

    let mut replayed = resume(&b, &session, &cursor).await;
    let mut again = Vec::new();
    while let Some((_, message)) = next_message(&mut replayed, Duration::from_secs(1)).await {
        again.push(progress(&message).unwrap());
    }
    assert_eq!(again, followed, "a resume after the kill replays exactly what the log committed");

    let (steps, counted) = call_on(&b, &session, 2, "count", json!({ "to": 2, "every_ms": 1 })).await;
    assert_eq!(steps, vec![1, 2]);
    assert!(counted.starts_with("counted to 2 on"), "the session outlives the node that opened it: {counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_or_a_cancellation_sent_to_another_node_reaches_the_call_that_waits() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = two_nodes(&redis);
    let session = initialize_with(&a, json!({ "elicitation": {} })).await;
    let on_a = call_on(&a, &session, 1, "node", json!({})).await.1;

    let asking = post(&a, Some(&session), call(2, "greet", json!({}))).await;
    let mut asking = EventReader::from_response(asking);
    let (_, question) = next_message(&mut asking, LIMIT).await.expect("the question in time");
    assert_eq!(question["method"], "elicitation/create", "{question}");
    let answer = json!({ "jsonrpc": "2.0", "id": question["id"], "result": { "action": "accept", "content": { "name": "Ana" } } });
    assert_eq!(post(&b, Some(&session), answer).await.status(), 202);
    let (_, greeting) = steps_and_answer(&mut asking).await;
    assert_eq!(greeting, format!("hello, Ana, from {on_a}"));

    let counting = post(&a, Some(&session), call(3, "count", json!({ "to": 100_000, "every_ms": 5 }))).await;
    let mut counting = EventReader::from_response(counting);
    let (cursor, _) = next_message(&mut counting, LIMIT).await.expect("progress in time");
    let mut followed = resume(&b, &session, &cursor).await;
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 3 } });
    assert_eq!(post(&b, Some(&session), cancel).await.status(), 202);
    for (node, stream) in [("a", &mut counting), ("b", &mut followed)] {
        while let Some((_, message)) = next_message(stream, LIMIT).await {
            assert!(progress(&message).is_some(), "a cancelled call is not answered: {message}");
        }
        assert!(stream.ends_within(Duration::ZERO).await, "the cancelled call's stream on node {node} ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_update_reaches_its_subscriber_once_wherever_it_listens() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = two_nodes(&redis);
    let session = initialize(&a).await;
    let subscribe =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": { "uri": "notes://board" } });
    assert_eq!(post(&a, Some(&session), subscribe).await.status(), 200);
    let listening = send(to(&b, Method::GET, Some(&session))).await;
    assert_eq!(listening.status(), 200);
    let mut listening = EventReader::from_response(listening);
    // The GET stream's priming event: once it is here, node b holds the stream.
    listening.next_within(LIMIT).await.expect("the priming event");

    let (_, told_by_a) = a.post("/notes", "").await;
    assert_eq!(told_by_a, "0", "node a holds no stream of the session");
    let (_, message) = next_message(&mut listening, LIMIT).await.expect("the update in time");
    assert_eq!(message["method"], "notifications/resources/updated");
    assert_eq!(message["params"]["uri"], "notes://board");
    let (_, told_by_b) = b.post("/notes", "").await;
    assert_eq!(told_by_b, "1");
    let (_, again) = next_message(&mut listening, LIMIT).await.expect("the second update in time");
    assert_eq!(again["method"], "notifications/resources/updated");
    assert!(next_message(&mut listening, Duration::from_millis(500)).await.is_none(), "each update once");

    let unsubscribe =
        json!({ "jsonrpc": "2.0", "id": 2, "method": "resources/unsubscribe", "params": { "uri": "notes://board" } });
    assert_eq!(post(&a, Some(&session), unsubscribe).await.status(), 200);
    // Node b hears of it through the log; until then it still tells the session (once per update).
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "node b never heard of the unsubscription");
        if b.post("/notes", "").await.1 == "0" {
            break;
        }
        next_message(&mut listening, LIMIT).await.expect("told while still subscribed there");
    }
    assert!(next_message(&mut listening, Duration::from_millis(500)).await.is_none(), "no update after it");
}
