//! MCP revision 2026-07-28, the stateless one, from outside, over sockets, on the same endpoint as the
//! session revisions: input the server needs asked for in the result and its rounds carried in a sealed
//! `requestState`; the same handlers (a tool, a prompt), in a session, asking the client on the request's
//! own stream; a request
//! answered with JSON unless it sends something first, and cancelled when its client closes its stream;
//! `subscriptions/listen`; the headers checked against the body. (The official suite's 2026-07-28
//! scenarios run in `examples/tests/mcp_clients.rs`.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};
use sisk::mcp::{
    JsonSchema, McpInputRequired, McpPrompt, McpPromptMessage, McpPromptReply, McpProvider, McpResource,
    McpResourceContents, McpTool, McpToolContext, McpToolResult,
};
use sisk::prelude::*;
use sisk_test_support::support::{client, eventually, Frames, TestServer};
use tokio::sync::Semaphore;

const VERSION: &str = "2026-07-28";

/// What the tests watch from outside the server.
#[derive(Default)]
struct Seen {
    cancelled: AtomicBool,
}

/// A server whose provider has `wizard` (asks a name, then a color, then answers both), `steps`
/// (progress, then waits for the test's permit, noting a cancellation), `plain`, `routed` (an argument
/// mirrored into `Mcp-Param-Region`), `grow` (adds a tool) and the resource `notes://board`.
fn server(gate: Arc<Semaphore>, seen: Arc<Seen>) -> (TestServer, McpProvider) {
    let provider = McpProvider::new("stateless-test", "Stateless test", "1.0");
    provider.tools.add(McpTool::new("wizard", "Two questions.", JsonSchema::empty(), |context: McpToolContext| async move {
        let input = context.input();
        let name = input.response("name").map(|answer| answer["content"]["name"].clone());
        let color = input.response("color").map(|answer| answer["content"]["color"].clone());
        let ask = |key: &str, message: &str| {
            json!({ "message": message, "requestedSchema": { "type": "object", "properties": { key: { "type": "string" } } } })
        };
        match (name, color) {
            (Some(name), Some(color)) => {
                let round = input.state().cloned().unwrap_or(Value::Null);
                McpToolResult::create_text(format!("{name} likes {color} (round {round})"))
            }
            (Some(_), None) => McpToolResult::input_required(
                McpInputRequired::new().elicit("color", ask("color", "Color?")).with_state(json!(2)),
            ),
            _ => McpToolResult::input_required(
                McpInputRequired::new().elicit("name", ask("name", "Name?")).with_state(json!(1)),
            ),
        }
    }));
    provider.tools.add(McpTool::new("steps", "Steps.", JsonSchema::empty(), move |context: McpToolContext| {
        let (gate, seen) = (gate.clone(), seen.clone());
        async move {
            context.notify_progress(1.0, Some(2.0), None);
            tokio::select! {
                _ = gate.acquire() => {}
                () = context.cancellation().cancelled() => {
                    seen.cancelled.store(true, Ordering::SeqCst);
                    return McpToolResult::create_text("cancelled");
                }
            }
            context.notify_progress(2.0, Some(2.0), None);
            McpToolResult::create_text("stepped")
        }
    }));
    provider.tools.add(McpTool::new("plain", "Answers at once.", JsonSchema::empty(), |_| async {
        McpToolResult::create_text("plain")
    }));
    let region = JsonSchema::create_string_schema().mcp_header("Region");
    let routed = JsonSchema::create_object_schema([("region", region)]);
    provider.tools.add(McpTool::new("routed", "Runs in a region.", routed, |context: McpToolContext| async move {
        McpToolResult::create_text(format!("ran in {}", context.arguments()["region"]))
    }));
    let tools = provider.tools.clone();
    provider.tools.add(McpTool::new("grow", "Adds a tool.", JsonSchema::empty(), move |_| {
        let tools = tools.clone();
        async move {
            tools.add(McpTool::new("grown", "Grown.", JsonSchema::empty(), |_| async {
                McpToolResult::create_text("")
            }));
            McpToolResult::create_text("grew")
        }
    }));
    provider.prompts.add(McpPrompt::interactive("briefing", "Asks its topic.", |_, input| async move {
        Ok(match input.response("topic") {
            Some(answer) => McpPromptReply::Messages(vec![McpPromptMessage::user_text(format!(
                "Brief me on {}",
                answer["content"]["topic"].as_str().unwrap_or_default()
            ))]),
            None => McpPromptReply::InputRequired(
                McpInputRequired::new()
                    .elicit("topic", json!({ "message": "Topic?", "requestedSchema": { "type": "object" } })),
            ),
        })
    }));
    provider.resources.add(McpResource::new("notes://board", "Board", |uri| async move {
        Ok(vec![McpResourceContents::text(uri, "text/plain", "notes")])
    }));
    let serving = provider.clone();
    let mut router = Router::new();
    router.map_any("/mcp", move |req: HttpRequest| {
        let provider = serving.clone();
        async move { provider.handle_request(&req).await }
    });
    (TestServer::start(router), provider)
}

/// A stateless request: the headers that mirror its body, and its `_meta` with `capabilities`.
fn stateless(
    server: &TestServer,
    id: u64,
    method: &str,
    mut params: Value,
    capabilities: Value,
) -> reqwest::RequestBuilder {
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!(VERSION);
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = capabilities;
    let mut request = client()
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", VERSION)
        .header("mcp-method", method);
    if let Some(name) = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str) {
        request = request.header("mcp-name", name);
    }
    request.body(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string())
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json", "a JSON answer");
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

fn message(frame: &str) -> Option<Value> {
    let data = frame.lines().find_map(|line| line.strip_prefix("data: "))?;
    serde_json::from_str(data).ok()
}

/// The next message of a stream, past its keep-alive comments.
async fn next_message(frames: &mut Frames) -> Value {
    loop {
        if let Some(message) = message(&frames.next().await.expect("a message before the stream ends")) {
            return message;
        }
    }
}

#[tokio::test]
async fn a_tool_that_needs_input_is_run_again_with_every_answer_its_rounds_gathered() {
    let (server, _) = server(Arc::new(Semaphore::new(0)), Arc::default());
    let elicits = json!({ "elicitation": {} });
    let call = |id, extra: Value| {
        let mut params = json!({ "name": "wizard", "arguments": {} });
        params.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        stateless(&server, id, "tools/call", params, elicits.clone()).send()
    };

    let (status, first) = json_of(call(1, json!({})).await.unwrap()).await;
    assert_eq!(status, 200);
    let first = &first["result"];
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(first["inputRequests"]["name"]["method"], "elicitation/create");
    let state = first["requestState"].as_str().unwrap().to_owned();

    let answer = |key: &str, value: &str| json!({ key: { "action": "accept", "content": { key: value } } });
    let (_, second) =
        json_of(call(2, json!({ "inputResponses": answer("name", "Ada"), "requestState": state })).await.unwrap())
            .await;
    let second = &second["result"];
    assert_eq!(second["inputRequests"]["color"]["method"], "elicitation/create", "{second}");
    let next_state = second["requestState"].as_str().unwrap().to_owned();
    assert_ne!(next_state, state);

    // The third round sends only the color: the name comes back from the sealed state.
    let (_, done) = json_of(
        call(3, json!({ "inputResponses": answer("color", "teal"), "requestState": next_state.clone() }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(done["result"]["resultType"], "complete");
    assert_eq!(done["result"]["content"][0]["text"], r#""Ada" likes "teal" (round 2)"#);

    for bad in [json!({ "requestState": format!("{next_state}x") }), json!({ "inputResponses": { "color": "teal" } })] {
        let (status, refused) = json_of(call(4, bad).await.unwrap()).await;
        assert_eq!((status, refused["error"]["code"].as_i64()), (200, Some(-32602)), "{refused}");
        assert_eq!(refused["id"], 4);
    }

    // A client that cannot elicit is told what it lacks, and the handler's question is never sent.
    let params = json!({ "name": "wizard", "arguments": {} });
    let (status, lacking) = json_of(stateless(&server, 5, "tools/call", params, json!({})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(lacking["error"]["code"], -32021);
    assert_eq!(lacking["error"]["data"]["requiredCapabilities"], json!({ "elicitation": {} }));
}

#[tokio::test]
async fn in_a_session_the_same_tool_asks_the_client_on_the_call_stream_and_answers_with_what_it_said() {
    let (server, _) = server(Arc::new(Semaphore::new(0)), Arc::default());
    let post = |session: Option<&str>, body: Value| {
        let request = client()
            .post(server.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string());
        match session {
            Some(session) => request.header("mcp-session-id", session).header("mcp-protocol-version", "2025-11-25"),
            None => request,
        }
    };
    let initialize = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": { "elicitation": {} }, "clientInfo": { "name": "t", "version": "1" } } });
    let answer = post(None, initialize).send().await.unwrap();
    let session = answer.headers()["mcp-session-id"].to_str().unwrap().to_owned();

    let call =
        json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": { "name": "wizard", "arguments": {} } });
    let mut frames = Frames::from(post(Some(&session), call).send().await.unwrap());
    let mut answered = Vec::new();
    let mut result = None;
    while let Some(frame) = frames.next().await {
        let Some(message) = message(&frame) else { continue };
        if message["method"] == "elicitation/create" {
            let key = if message["params"]["message"] == "Name?" { "name" } else { "color" };
            let value = if key == "name" { "Grace" } else { "amber" };
            let reply = json!({ "jsonrpc": "2.0", "id": message["id"], "result": { "action": "accept", "content": { key: value } } });
            assert_eq!(post(Some(&session), reply).send().await.unwrap().status(), 202);
            answered.push(key);
        } else if message["id"] == 9 {
            result = Some(message);
        }
    }
    assert_eq!(answered, ["name", "color"], "each question once, in order");
    let result = result.expect("the call's answer ends its stream");
    assert_eq!(result["result"]["content"][0]["text"], r#""Grace" likes "amber" (round 2)"#);

    // An interactive prompt asks on its own request's stream too.
    let get = json!({ "jsonrpc": "2.0", "id": 10, "method": "prompts/get", "params": { "name": "briefing" } });
    let mut frames = Frames::from(post(Some(&session), get).send().await.unwrap());
    let mut messages = Vec::new();
    while let Some(frame) = frames.next().await {
        let Some(message) = message(&frame) else { continue };
        if message["method"] == "elicitation/create" {
            let reply = json!({ "jsonrpc": "2.0", "id": message["id"], "result": { "action": "accept", "content": { "topic": "tides" } } });
            assert_eq!(post(Some(&session), reply).send().await.unwrap().status(), 202);
        }
        messages.push(message);
    }
    assert_eq!(messages.len(), 2, "the question, then the answer: {messages:?}");
    assert_eq!(messages[1]["result"]["messages"][0]["content"]["text"], "Brief me on tides");
}

#[tokio::test]
async fn a_request_is_json_unless_it_sends_first_and_closing_its_stream_cancels_it() {
    let gate = Arc::new(Semaphore::new(0));
    let seen = Arc::new(Seen::default());
    let (server, _) = server(gate.clone(), seen.clone());

    let (status, plain) =
        json_of(stateless(&server, 1, "tools/call", json!({ "name": "plain" }), json!({})).send().await.unwrap()).await;
    assert_eq!((status, &plain["result"]["content"][0]["text"]), (200, &json!("plain")));
    assert_eq!(plain["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "stateless-test");

    let steps = || json!({ "name": "steps", "_meta": { "progressToken": "t" } });
    let response = stateless(&server, 2, "tools/call", steps(), json!({})).send().await.unwrap();
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut frames = Frames::from(response);
    let first = message(&frames.next().await.unwrap()).unwrap();
    assert_eq!(first["params"]["progress"], 1.0);
    drop(frames);
    eventually("the call is cancelled when its stream closes", || seen.cancelled.load(Ordering::SeqCst)).await;

    let mut frames = Frames::from(stateless(&server, 3, "tools/call", steps(), json!({})).send().await.unwrap());
    assert!(frames.next().await.unwrap().contains("\"progress\":1.0"));
    gate.add_permits(1);
    let rest: Vec<Value> = frames.rest().await.iter().filter_map(|frame| message(frame)).collect();
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert_eq!(rest[0]["params"]["progress"], 2.0);
    assert_eq!((rest[1]["id"].as_i64(), rest[1]["result"]["resultType"].as_str()), (Some(3), Some("complete")));
}

#[tokio::test]
async fn a_listen_stream_is_acknowledged_then_hears_only_the_changes_its_filter_takes() {
    let (server, provider) = server(Arc::new(Semaphore::new(0)), Arc::default());
    let listen = |id, filter: Value| {
        stateless(&server, id, "subscriptions/listen", json!({ "notifications": filter }), json!({}))
    };
    let mut tools = Frames::from(listen(70, json!({ "toolsListChanged": true })).send().await.unwrap());
    let mut board =
        Frames::from(listen(71, json!({ "resourceSubscriptions": ["notes://board"] })).send().await.unwrap());
    for (frames, id) in [(&mut tools, 70), (&mut board, 71)] {
        let ack = message(&frames.next().await.unwrap()).unwrap();
        assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
        assert_eq!(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], id);
    }
    assert_eq!(provider.open_subscription_streams(), 2);

    let grow = stateless(&server, 1, "tools/call", json!({ "name": "grow" }), json!({})).send().await.unwrap();
    assert_eq!(grow.status(), 200);
    assert_eq!(provider.resources.notify_updated("notes://board"), 1, "one stream subscribed");

    let heard = next_message(&mut tools).await;
    assert_eq!(heard["method"], "notifications/tools/list_changed");
    assert_eq!(heard["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 70);
    let heard = next_message(&mut board).await;
    assert_eq!(
        (heard["method"].as_str(), heard["params"]["uri"].as_str()),
        (Some("notifications/resources/updated"), Some("notes://board"))
    );

    drop(tools);
    drop(board);
    eventually("the closed listen streams leave", || provider.open_subscription_streams() == 0).await;
}

#[tokio::test]
async fn the_headers_must_say_what_the_body_does_and_the_version_must_be_served() {
    let (server, _) = server(Arc::new(Semaphore::new(0)), Arc::default());
    let routed = |region: Option<&str>| {
        let request = stateless(
            &server,
            1,
            "tools/call",
            json!({ "name": "routed", "arguments": { "region": "eu-1" } }),
            json!({}),
        );
        match region {
            Some(region) => request.header("mcp-param-region", region),
            None => request,
        }
    };
    let encoded = format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode("eu-1"));
    for accepted in [" eu-1 ", encoded.as_str()] {
        let (status, answer) = json_of(routed(Some(accepted)).send().await.unwrap()).await;
        assert_eq!(
            (status, &answer["result"]["content"][0]["text"]),
            (200, &json!(r#"ran in "eu-1""#)),
            "{accepted:?}"
        );
    }
    for refused in [None, Some("us-2"), Some("=?base64?ZXUtMQ?=")] {
        let (status, answer) = json_of(routed(refused).send().await.unwrap()).await;
        assert_eq!((status, answer["error"]["code"].as_i64()), (400, Some(-32020)), "{refused:?}: {answer}");
    }
    let mut wrong_name = stateless(&server, 2, "tools/call", json!({ "name": "plain" }), json!({})).build().unwrap();
    wrong_name.headers_mut().insert("mcp-name", "routed".parse().unwrap());
    assert_eq!(json_of(client().execute(wrong_name).await.unwrap()).await.1["error"]["code"], -32020);

    let discover_as = |header: &str, body_version: &str| {
        let body = json!({ "jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": { "_meta": {
            "io.modelcontextprotocol/protocolVersion": body_version, "io.modelcontextprotocol/clientCapabilities": {} } } });
        client()
            .post(server.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", header)
            .header("mcp-method", "server/discover")
            .body(body.to_string())
            .send()
    };
    let (status, answer) = json_of(discover_as(VERSION, "2099-01-01").await.unwrap()).await;
    assert_eq!((status, answer["error"]["code"].as_i64()), (400, Some(-32020)), "the header and the body differ");
    let (status, answer) = json_of(discover_as("2099-01-01", "2099-01-01").await.unwrap()).await;
    assert_eq!((status, answer["error"]["code"].as_i64()), (400, Some(-32022)));
    assert_eq!(answer["error"]["data"]["requested"], "2099-01-01");
    assert_eq!(answer["error"]["data"]["supported"][0], VERSION);

    let (status, removed) = json_of(stateless(&server, 5, "ping", json!({}), json!({})).send().await.unwrap()).await;
    assert_eq!((status, removed["error"]["code"].as_i64(), removed["id"].as_i64()), (404, Some(-32601), Some(5)));
    let (status, discovered) =
        json_of(stateless(&server, 6, "server/discover", json!({}), json!({})).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(discovered["result"]["supportedVersions"][0], VERSION);
    assert_eq!(
        (discovered["result"]["ttlMs"].as_u64(), discovered["result"]["cacheScope"].as_str()),
        (Some(0), Some("private"))
    );
}
