//! The MCP messages the measurements send, and how they read the answers: a session of revision
//! 2025-11-25 (`initialize`, `notifications/initialized`, `DELETE`), a `tools/call` in it or without one
//! (revision 2026-07-28, the request's `_meta` and headers carrying what a session would), and an answer
//! read whole as the JSON-RPC messages it carries, whether JSON or an event stream.

use std::io;

use serde_json::{json, Value};

use crate::mcp::client::{Body, Head, McpConnection, SseEvent, SseParser};
use crate::mcp::fixtures::ENDPOINT;

/// The session revision the measurements speak.
pub const SESSION_VERSION: &str = "2025-11-25";

/// The stateless revision.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// How a `tools/call` is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Revision 2026-07-28, no session: `_meta` carries the version and the client's capabilities, the
    /// headers `Mcp-Method` and `Mcp-Name`. Both servers answer it with JSON when the tool sends nothing
    /// first.
    Stateless,
    /// Revision 2025-11-25 in an initialized session: both servers answer on an event stream.
    Session,
}

impl Mode {
    /// Both modes, in the order they are measured.
    pub const ALL: [Mode; 2] = [Mode::Stateless, Mode::Session];

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Stateless => "JSON: 2026-07-28, no session",
            Mode::Session => "SSE: 2025-11-25 session",
        }
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// An answer read to its end: the head, every event (none for JSON), and the JSON-RPC messages (the
/// body, or the data of every event that has some).
#[derive(Debug)]
pub struct Answer {
    /// The response head.
    pub head: Head,
    /// The events, when the body was an event stream.
    pub events: Vec<SseEvent>,
    /// The messages, in order.
    pub messages: Vec<Value>,
}

/// Reads a whole answer.
pub async fn read_answer(head: Head, body: Body<'_>) -> io::Result<Answer> {
    let bytes = body.to_end().await?;
    let mut answer = Answer { events: Vec::new(), messages: Vec::new(), head };
    if answer.head.is_event_stream() {
        let mut parser = SseParser::default();
        parser.feed(&bytes);
        while let Some(event) = parser.next_event() {
            if !event.data.is_empty() {
                answer.messages.push(parse(event.data.as_bytes())?);
            }
            answer.events.push(event);
        }
    } else if !bytes.is_empty() {
        answer.messages.push(parse(&bytes)?);
    }
    Ok(answer)
}

/// One JSON value.
pub fn parse(bytes: &[u8]) -> io::Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON ({e}): {}", String::from_utf8_lossy(bytes))))
}

/// The headers of a request in a session.
fn session_headers(session: &str) -> [(&'static str, &str); 2] {
    [("Mcp-Session-Id", session), ("MCP-Protocol-Version", SESSION_VERSION)]
}

/// Opens a session on `connection` (`initialize`, then `notifications/initialized`) and returns its id.
pub async fn initialize(connection: &mut McpConnection) -> io::Result<String> {
    let request = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": SESSION_VERSION,
        "capabilities": {},
        "clientInfo": { "name": "mcp-compare", "version": "1.0" },
    } });
    let (head, body) = connection.send("POST", ENDPOINT, &[], request.to_string().as_bytes()).await?;
    let answer = read_answer(head, body).await?;
    let version = answer.messages.iter().find(|m| m["id"] == 0).map(|m| &m["result"]["protocolVersion"]);
    if answer.head.status != 200 || version != Some(&json!(SESSION_VERSION)) {
        return Err(invalid(format!("initialize answered {} {:?}", answer.head.status, answer.messages)));
    }
    let session = answer.head.session.ok_or_else(|| invalid("initialize answered no Mcp-Session-Id"))?;
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string();
    let (head, body) = connection.send("POST", ENDPOINT, &session_headers(&session), initialized.as_bytes()).await?;
    body.to_end().await?;
    if head.status != 202 {
        return Err(invalid(format!("notifications/initialized answered {}", head.status)));
    }
    Ok(session)
}

/// Ends a session (`DELETE`).
pub async fn end_session(connection: &mut McpConnection, session: &str) -> io::Result<()> {
    let (head, body) = connection.send("DELETE", ENDPOINT, &session_headers(session), b"").await?;
    body.to_end().await?;
    match head.status {
        200 | 202 | 204 => Ok(()),
        other => Err(invalid(format!("DELETE of a session answered {other}"))),
    }
}

/// A `tools/call` of `tool` with `arguments` and request id `id`: in `session`, or without one
/// ([`Mode::Stateless`] when `session` is `None`); with `_meta.progressToken` = `id` when `progress`.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    /// The JSON-RPC id.
    pub id: u64,
    /// The tool's name.
    pub tool: &'a str,
    /// The session, or none for a stateless call.
    pub session: Option<&'a str>,
    /// Whether the call asks for progress notifications.
    pub progress: bool,
}

impl ToolCall<'_> {
    /// The request body.
    pub fn body(&self, arguments: Value) -> Vec<u8> {
        let mut meta = serde_json::Map::new();
        if self.progress {
            meta.insert("progressToken".into(), json!(self.id));
        }
        if self.session.is_none() {
            meta.insert("io.modelcontextprotocol/protocolVersion".into(), json!(STATELESS_VERSION));
            meta.insert("io.modelcontextprotocol/clientCapabilities".into(), json!({}));
        }
        let mut params = json!({ "name": self.tool, "arguments": arguments });
        if !meta.is_empty() {
            params["_meta"] = Value::Object(meta);
        }
        json!({ "jsonrpc": "2.0", "id": self.id, "method": "tools/call", "params": params }).to_string().into_bytes()
    }

    /// Sends the call with `arguments` on `connection`; the answer is read from the returned body.
    pub async fn send<'c>(&self, connection: &'c mut McpConnection, arguments: Value) -> io::Result<(Head, Body<'c>)> {
        let body = self.body(arguments);
        match self.session {
            Some(session) => connection.send("POST", ENDPOINT, &session_headers(session), &body).await,
            None => {
                let headers = [
                    ("MCP-Protocol-Version", STATELESS_VERSION),
                    ("Mcp-Method", "tools/call"),
                    ("Mcp-Name", self.tool),
                ];
                connection.send("POST", ENDPOINT, &headers, &body).await
            }
        }
    }

    /// True when `message` is this call's answer.
    pub fn is_answer(&self, message: &Value) -> bool {
        message["id"] == self.id && message.get("method").is_none()
    }
}

/// The text of a tool result's first content, if the message is a result that is not an error.
pub fn result_text(message: &Value) -> Option<&str> {
    let result = message.get("result")?;
    if result["isError"] == true {
        return None;
    }
    result["content"][0]["text"].as_str()
}

/// The `progress` of a `notifications/progress` message.
pub fn progress_of(message: &Value) -> Option<f64> {
    (message["method"] == "notifications/progress").then(|| message["params"]["progress"].as_f64()).flatten()
}

/// Opens the session's `GET` stream on `connection`, from `last_event_id` when given, and returns the
/// head and the body (an error unless it is a `200` event stream).
pub async fn open_get_stream<'c>(
    connection: &'c mut McpConnection,
    session: &str,
    last_event_id: Option<&str>,
) -> io::Result<Body<'c>> {
    let mut headers = session_headers(session).to_vec();
    if let Some(id) = last_event_id {
        headers.push(("Last-Event-ID", id));
    }
    let (head, body) = connection.send("GET", ENDPOINT, &headers, b"").await?;
    if head.status != 200 || !head.is_event_stream() {
        return Err(invalid(format!("GET with Last-Event-ID {last_event_id:?} answered {head:?}")));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stateless_call_carries_what_a_session_would() {
        let call = ToolCall { id: 7, tool: "echo", session: None, progress: true };
        let body: Value = serde_json::from_slice(&call.body(json!({ "text": "a" }))).unwrap();
        assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], STATELESS_VERSION);
        assert_eq!(body["params"]["_meta"]["progressToken"], 7);
        let in_session = ToolCall { session: Some("s"), progress: false, ..call };
        let body: Value = serde_json::from_slice(&in_session.body(json!({}))).unwrap();
        assert!(body["params"].get("_meta").is_none());
        assert!(call.is_answer(&json!({ "id": 7, "result": {} })));
        assert!(!call.is_answer(&json!({ "id": 8, "result": {} })));
    }

    #[test]
    fn texts_and_progress_are_read_from_messages() {
        let result = json!({ "id": 1, "result": { "content": [{ "type": "text", "text": "hi" }], "isError": false } });
        assert_eq!(result_text(&result), Some("hi"));
        assert_eq!(result_text(&json!({ "id": 1, "result": { "content": [], "isError": true } })), None);
        let progress = json!({ "method": "notifications/progress", "params": { "progress": 3.0 } });
        assert_eq!(progress_of(&progress), Some(3.0));
    }
}
