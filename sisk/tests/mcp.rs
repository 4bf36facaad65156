//! MCP over Streamable HTTP, from outside, over sockets: sessions and their refusals, the clear answer to
//! each kind of malformed input, arguments checked against the tool's schema (given, or derived from a
//! typed tool's type), and a call whose stream is
//! lost and resumed from `Last-Event-ID` — with nothing of one session reaching another, and nothing of
//! the program's own broadcasts reaching an MCP stream. (The official conformance suite runs in
//! `examples/tests/mcp_clients.rs`, with the TypeScript and Python SDKs.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use sisk::http::streams::Event;
use sisk::mcp::{JsonSchema, McpTool, McpToolContext, McpToolResult};
use sisk::prelude::*;
use sisk_test_support::support::{client, Frames, TestServer};
use tokio::sync::Semaphore;

const JSON_AND_SSE: &str = "application/json, text/event-stream";

/// The arguments of the typed tool `scaled_sum`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ScaledSum {
    /// The numbers to sum.
    numbers: Vec<f64>,
    /// What the sum is multiplied by.
    factor: u8,
}

/// A server whose provider has `sum` (numbers, checked by its schema), `scaled_sum` (a typed tool) and
/// `stepper` (progress, then waits for the test's permit before it finishes).
fn server(gate: Arc<Semaphore>) -> TestServer {
    server_with(gate, |builder| builder)
}

/// [`server`], its builder changed by `change`.
fn server_with(
    gate: Arc<Semaphore>,
    change: impl FnOnce(sisk::http::HttpServerHostContextBuilder) -> sisk::http::HttpServerHostContextBuilder,
) -> TestServer {
    let mut router = Router::new();
    router += Route::new(RouteMethod::Any, "/mcp", |req: HttpRequest| async move { req.handle_mcp_request().await });
    let builder = HttpServer::create_builder().use_router(router).use_mcp(move |mcp| {
        mcp.server_name = "test-server".into();
        let numbers = JsonSchema::create_object_schema([(
            "numbers",
            JsonSchema::create_array_schema(JsonSchema::create_number_schema()).min_items(1),
        )])
        .required_properties(["numbers"]);
        mcp.tools.add(McpTool::new("sum", "Sums numbers.", numbers, |context: McpToolContext| async move {
            let numbers: Vec<f64> = context.argument("numbers")?;
            Ok::<_, sisk::Error>(McpToolResult::create_text(format!("{}", numbers.iter().sum::<f64>())))
        }));
        mcp.tools.add(McpTool::typed(
            "scaled_sum",
            "Sums numbers, scaled.",
            |sum: ScaledSum, _: McpToolContext| async move {
                McpToolResult::create_text(format!("{}", sum.numbers.iter().sum::<f64>() * f64::from(sum.factor)))
            },
        ));
        mcp.tools.add(McpTool::new("stepper", "Steps.", JsonSchema::empty(), move |context: McpToolContext| {
            let gate = gate.clone();
            async move {
                context.notify_progress(1.0, Some(2.0), None);
                let _permit = gate.acquire().await;
                context.notify_progress(2.0, Some(2.0), None);
                McpToolResult::create_text("stepped")
            }
        }));
    });
    TestServer::start_with(change(builder))
}

fn post(server: &TestServer, session: Option<&str>, body: &str) -> reqwest::RequestBuilder {
    post_as(server, session, body, JSON_AND_SSE, "application/json")
}

fn post_as(
    server: &TestServer,
    session: Option<&str>,
    body: &str,
    accept: &str,
    kind: &str,
) -> reqwest::RequestBuilder {
    let request =
        client().post(server.url("/mcp")).header("accept", accept).header("content-type", kind).body(body.to_owned());
    match session {
        Some(id) => request.header("mcp-session-id", id),
        None => request,
    }
}

/// Initializes a session; returns its id.
async fn initialize(server: &TestServer) -> String {
    let body = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": { "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } },
    });
    let answer = post(server, None, &body.to_string()).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let session = answer.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    assert!(session.len() >= 32 && session.bytes().all(|b| b.is_ascii_graphic()), "{session:?}");
    let result: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(result["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(result["result"]["serverInfo"]["name"], "test-server");
    session
}

async fn error_of(response: reqwest::Response) -> (u16, i64) {
    let status = response.status().as_u16();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    (status, body["error"]["code"].as_i64().unwrap())
}

fn call(id: u64, tool: &str, arguments: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments, "_meta": { "progressToken": "p" } } })
    .to_string()
}

/// The JSON message of a frame, or `None` for a frame without data (the priming event).
fn message(frame: &str) -> Option<Value> {
    let data = frame.lines().find_map(|line| line.strip_prefix("data: "))?;
    (!data.is_empty()).then(|| serde_json::from_str(data).unwrap())
}

fn id_of(frame: &str) -> String {
    frame.lines().find_map(|line| line.strip_prefix("id: ")).expect("an id").to_owned()
}

#[tokio::test]
async fn each_malformed_or_unauthorised_request_gets_its_own_clear_answer() {
    let server = server(Arc::new(Semaphore::new(0)));
    let session = initialize(&server).await;
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    assert_eq!(error_of(post(&server, Some(&session), "{oops").send().await.unwrap()).await, (400, -32700));
    let batch = format!("[{ping}]");
    assert_eq!(error_of(post(&server, Some(&session), &batch).send().await.unwrap()).await, (400, -32600));
    assert_eq!(error_of(post(&server, None, ping).send().await.unwrap()).await, (400, -32000), "no session");
    assert_eq!(error_of(post(&server, Some("unknown"), ping).send().await.unwrap()).await, (404, -32001));
    let json_only = post_as(&server, Some(&session), ping, "application/json", "application/json");
    assert_eq!(json_only.send().await.unwrap().status(), 406);
    let text = post_as(&server, Some(&session), ping, JSON_AND_SSE, "text/plain").send().await.unwrap();
    assert_eq!(text.status(), 415);
    let version =
        post(&server, Some(&session), ping).header("mcp-protocol-version", "1999-01-01").send().await.unwrap();
    assert_eq!(version.status(), 400);
    let rebinding =
        post(&server, Some(&session), ping).header("origin", "http://evil.example.com").send().await.unwrap();
    assert_eq!(rebinding.status(), 403);
    let forged_host = post(&server, Some(&session), ping).header("host", "evil.example.com").send().await.unwrap();
    assert_eq!(forged_host.status(), 403, "a loopback client naming another host: DNS rebinding");
    let huge = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(5 << 20));
    assert_eq!(post(&server, Some(&session), &huge).send().await.unwrap().status(), 413);
    let unknown = post(&server, Some(&session), r#"{"jsonrpc":"2.0","id":2,"method":"nope"}"#).send().await.unwrap();
    assert_eq!(error_of(unknown).await, (200, -32601));

    let pong = post(&server, Some(&session), ping).send().await.unwrap().text().await.unwrap();
    let pong: Value = serde_json::from_str(&pong).unwrap();
    assert_eq!(pong, json!({ "jsonrpc": "2.0", "id": 1, "result": {} }), "the session still serves");
    let note = post(&server, Some(&session), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    assert_eq!(note.send().await.unwrap().status(), 202);

    let ended = client().delete(server.url("/mcp")).header("mcp-session-id", &session).send().await.unwrap();
    assert_eq!(ended.status(), 200);
    assert_eq!(error_of(post(&server, Some(&session), ping).send().await.unwrap()).await, (404, -32001), "ended");
}

#[tokio::test]
async fn arguments_that_do_not_fit_the_schema_are_a_tool_error_and_the_handler_does_not_run() {
    let server = server(Arc::new(Semaphore::new(0)));
    let session = initialize(&server).await;
    for (arguments, fits) in
        [(json!({ "numbers": [1, 2.5] }), true), (json!({ "numbers": [] }), false), (json!({}), false)]
    {
        let answer = post(&server, Some(&session), &call(3, "sum", arguments.clone())).send().await.unwrap();
        let frames = Frames::from(answer).rest().await;
        let result = frames.iter().filter_map(|f| message(f)).find(|m| m["id"] == 3).expect("the answer");
        assert_eq!(result["result"]["isError"].as_bool().unwrap_or(false), !fits, "{arguments}: {result}");
        if fits {
            assert_eq!(result["result"]["content"][0]["text"], "3.5");
        } else {
            assert!(result["result"]["content"][0]["text"].as_str().unwrap().contains("invalid arguments"), "{result}");
        }
    }
    let unknown = post(&server, Some(&session), &call(4, "nope", json!({}))).send().await.unwrap();
    let frames = Frames::from(unknown).rest().await;
    let answer = frames.iter().filter_map(|f| message(f)).find(|m| m["id"] == 4).unwrap();
    assert_eq!(answer["error"]["code"], -32602, "an unknown tool is a protocol error: {answer}");
}

#[tokio::test]
async fn a_typed_tool_declares_its_type_s_schema_and_gets_its_arguments_deserialized() {
    let server = server(Arc::new(Semaphore::new(0)));
    let session = initialize(&server).await;
    let listed = post(&server, Some(&session), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    let listed: Value = serde_json::from_str(&listed.send().await.unwrap().text().await.unwrap()).unwrap();
    let tool = listed["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "scaled_sum").unwrap();
    let schema = &tool["inputSchema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["numbers", "factor"]));
    assert_eq!(schema["properties"]["numbers"]["description"], "The numbers to sum.");
    for (arguments, answer) in [
        (json!({ "numbers": [1, 2.5], "factor": 2 }), Ok("7")),
        (json!({ "numbers": [1] }), Err("factor")),
        (json!({ "numbers": [1], "factor": 256 }), Err("256")),
        (json!({ "numbers": "one", "factor": 1 }), Err("numbers")),
    ] {
        let answered = post(&server, Some(&session), &call(5, "scaled_sum", arguments.clone())).send().await.unwrap();
        let frames = Frames::from(answered).rest().await;
        let result = frames.iter().filter_map(|f| message(f)).find(|m| m["id"] == 5).expect("the answer");
        let text = result["result"]["content"][0]["text"].as_str().unwrap();
        let failed = result["result"]["isError"].as_bool().unwrap_or(false);
        match answer {
            Ok(expected) => assert_eq!((text, failed), (expected, false), "{arguments}"),
            Err(names) => {
                assert!(failed && text.contains("invalid arguments") && text.contains(names), "{arguments}: {text}")
            }
        }
    }
}

#[tokio::test]
async fn a_lost_call_stream_resumes_from_last_event_id_on_its_own_session_only() {
    let gate = Arc::new(Semaphore::new(0));
    let server = server(gate.clone());
    let (mine, other) = (initialize(&server).await, initialize(&server).await);

    let answer = post(&server, Some(&mine), &call(7, "stepper", json!({}))).send().await.unwrap();
    assert_eq!(answer.headers()["mcp-session-id"], mine.as_str());
    let mut frames = Frames::from(answer);
    let priming = frames.next().await.unwrap();
    assert!(priming.contains("retry: ") && message(&priming).is_none(), "priming first: {priming:?}");
    let first = frames.next().await.unwrap();
    assert_eq!(message(&first).unwrap()["params"]["progress"], 1.0);
    let cursor = id_of(&first);
    drop(frames); // the network goes; the call goes on
    gate.add_permits(1);

    let resume = |session: &str| {
        client()
            .get(server.url("/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session)
            .header("last-event-id", &cursor)
    };
    let stolen = resume(&other).send().await.unwrap();
    assert_eq!(stolen.status(), 400, "another session's cursor resumes nothing");
    let unknown = client()
        .get(server.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &other)
        .header("last-event-id", "gone.1-0");
    let mut fresh = Frames::from(unknown.send().await.unwrap());
    let priming = fresh.next().await.unwrap();
    assert!(priming.contains("retry: ") && message(&priming).is_none(), "past the log's window: the GET stream anew");
    drop(fresh);

    let resumed = Frames::from(resume(&mine).send().await.unwrap()).rest().await;
    let messages: Vec<Value> = resumed.iter().filter_map(|f| message(f)).collect();
    assert_eq!(messages.len(), 2, "what was missed, once: {resumed:?}");
    assert_eq!(messages[0]["params"]["progress"], 2.0);
    assert_eq!(messages[1]["id"], 7);
    assert_eq!(messages[1]["result"]["content"][0]["text"], "stepped");
}

#[tokio::test]
async fn the_programs_broadcasts_hooks_and_listings_leave_mcp_streams_alone() {
    let hooked = Arc::new(AtomicUsize::new(0));
    let counted = hooked.clone();
    let server = server_with(Arc::new(Semaphore::new(0)), move |builder| {
        builder.on_event_source_registered(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
    });
    let session = initialize(&server).await;
    let get = client().get(server.url("/mcp")).header("accept", "text/event-stream").header("mcp-session-id", &session);
    let mut stream = Frames::from(get.send().await.unwrap());
    let priming = stream.next().await.unwrap();
    assert!(message(&priming).is_none(), "{priming:?}");

    let events = server.server.event_sources();
    sisk_test_support::support::eventually("the GET stream opened", || events.active_connections() == 1).await;
    assert_eq!(hooked.load(Ordering::SeqCst), 0, "the program's hook never sees an MCP stream (nor its session id)");
    assert!(events.all().is_empty() && events.find(|_| true).is_empty(), "not one of the program's streams");
    let published = events.broadcast(&Event::new().data("for the program's pages")).unwrap();
    assert_eq!(published.reached, Some(0), "a broadcast reaches no MCP stream");
    // What the GET stream carries is the session's: a resource update or list change would come here.
    server.server.state::<sisk::mcp::McpProvider>().unwrap().tools.add(McpTool::new(
        "late",
        "Added while serving.",
        JsonSchema::empty(),
        |_| async { McpToolResult::create_text("late") },
    ));
    // Comments keep the quiet stream alive (`stream_keep_alive`: one at once, then every 15 s), in
    // whatever order they meet the change.
    let (mut changed, mut comments) = (None, Vec::new());
    while changed.is_none() || comments.is_empty() {
        let frame = stream.next().await.expect("the change and a keep-alive comment");
        match message(&frame) {
            Some(message) => changed = Some(message),
            None => comments.push(frame),
        }
    }
    assert_eq!(changed.unwrap()["method"], "notifications/tools/list_changed");
    assert_eq!(comments, [": keep-alive\n\n"], "the GET stream's keep-alive comment");
}
