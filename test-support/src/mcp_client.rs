//! [`McpClient`]: the smallest MCP client over Streamable HTTP, for the book's examples — it initializes a
//! session and sends requests, reading the answer whether it comes as JSON or on an event stream.

use serde_json::{json, Value};

use crate::support::{client, LIMIT};

/// A session with the MCP endpoint at `url`.
#[derive(Debug)]
pub struct McpClient {
    url: String,
    /// The session's id (`Mcp-Session-Id`).
    pub session: String,
    next_id: u64,
}

impl McpClient {
    /// Initializes a session with the endpoint at `url` (protocol 2025-11-25).
    pub async fn connect(url: &str) -> McpClient {
        let mut mcp = McpClient { url: url.to_owned(), session: String::new(), next_id: 0 };
        let params = json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": { "name": "sisk-book", "version": "1" },
        });
        let response = mcp.post(&json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params })).await;
        mcp.session = response.headers()["mcp-session-id"].to_str().expect("a visible session id").to_owned();
        mcp
    }

    async fn post(&self, message: &Value) -> reqwest::Response {
        let mut request = client()
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(message.to_string());
        if !self.session.is_empty() {
            request = request.header("mcp-session-id", &self.session);
        }
        let response = request.send().await.expect("the endpoint answers");
        assert!(response.status().is_success(), "{} answered {}", self.url, response.status());
        response
    }

    /// Sends request `method` and returns its answer (the whole JSON-RPC response), and the messages
    /// the server sent before it on the request's stream.
    pub async fn request_with_messages(&mut self, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.next_id += 1;
        let id = self.next_id;
        let response = self.post(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await;
        let streamed = response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/event-stream");
        let body = tokio::time::timeout(LIMIT, response.text()).await.expect("the answer in time").expect("a body");
        if !streamed {
            return (serde_json::from_str(&body).expect("a JSON answer"), Vec::new());
        }
        let mut messages: Vec<Value> = body
            .split("\n\n")
            .filter_map(|frame| frame.lines().find_map(|line| line.strip_prefix("data: ")))
            .filter(|data| !data.is_empty())
            .map(|data| serde_json::from_str(data).expect("JSON messages"))
            .collect();
        let answer = messages.iter().position(|m| m["id"] == id && m.get("method").is_none()).expect("the answer");
        let answer = messages.remove(answer);
        (answer, messages)
    }

    /// Sends request `method` and returns its answer's `result` (panics on an error answer).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let (answer, _) = self.request_with_messages(method, params).await;
        answer.get("result").cloned().unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// Calls tool `name` with `arguments`; returns the text of its first content and whether it failed.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> (String, bool) {
        let result = self.request("tools/call", json!({ "name": name, "arguments": arguments })).await;
        let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
        (text, result["isError"].as_bool().unwrap_or(false))
    }
}
