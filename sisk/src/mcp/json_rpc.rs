//! JSON-RPC 2.0 as MCP uses it: what a client's POST carries (a request, a notification, or the answer
//! to a request of the server's), the error codes, and the messages the server writes.

use serde_json::{json, Map, Value};

/// The body is not JSON.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// JSON, but not a JSON-RPC message (or a batch, which MCP no longer allows).
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// No such method.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// The method's parameters are wrong.
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// The server failed.
pub(crate) const INTERNAL_ERROR: i64 = -32603;
/// A resource that does not exist (MCP's code for `resources/read`).
pub(crate) const RESOURCE_NOT_FOUND: i64 = -32002;
/// Headers that do not match the body, or are missing (revision 2026-07-28).
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// The request needs a client capability the client did not declare (revision 2026-07-28).
pub(crate) const MISSING_CLIENT_CAPABILITY: i64 = -32021;
/// A protocol version the server does not serve (revision 2026-07-28).
pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// The transport's own refusals (no session, say), as the SDKs answer them.
pub(crate) const TRANSPORT_ERROR: i64 = -32000;

/// A JSON-RPC error: its code, message and optional data.
#[derive(Debug, Clone)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) data: Option<Value>,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into(), data: None }
    }

    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    fn to_value(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        error
    }
}

/// One message a client sent.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A request: it is answered with its `id`.
    Request { id: Value, method: String, params: Value },
    /// A notification: nothing answers it.
    Notification { method: String, params: Value },
    /// The answer to a request the server sent (sampling, elicitation, ping).
    Response { id: Value, outcome: Result<Value, Value> },
}

impl Incoming {
    /// Reads one message; the error is the answer to send (with the id, when one could be read).
    pub(crate) fn parse(body: &[u8]) -> Result<Incoming, (Value, RpcError)> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| (Value::Null, RpcError::new(PARSE_ERROR, format!("parse error: {e}"))))?;
        if value.is_array() {
            return Err((
                Value::Null,
                RpcError::new(
                    INVALID_REQUEST,
                    "batches are not part of MCP since 2025-06-18: send one message per POST",
                ),
            ));
        }
        let Value::Object(mut message) = value else {
            return Err((Value::Null, RpcError::new(INVALID_REQUEST, "a JSON-RPC message is a JSON object")));
        };
        let id = message.remove("id");
        let invalid = |id: Option<Value>, why: &str| (id.unwrap_or(Value::Null), RpcError::new(INVALID_REQUEST, why));
        if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(invalid(id, "the message must say \"jsonrpc\": \"2.0\""));
        }
        if let Some(id) = &id {
            if !(id.is_string() || id.is_i64() || id.is_u64()) {
                return Err(invalid(None, "a request id is a string or an integer"));
            }
        }
        let params = message.remove("params").unwrap_or(Value::Object(Map::new()));
        match (message.remove("method"), id) {
            (Some(Value::String(method)), Some(id)) => {
                if !params.is_object() {
                    return Err(invalid(Some(id), "params must be an object"));
                }
                Ok(Incoming::Request { id, method, params })
            }
            (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
            (Some(_), id) => Err(invalid(id, "the method must be a string")),
            (None, Some(id)) => match (message.remove("result"), message.remove("error")) {
                (Some(result), None) => Ok(Incoming::Response { id, outcome: Ok(result) }),
                (None, Some(error)) => Ok(Incoming::Response { id, outcome: Err(error) }),
                _ => Err(invalid(Some(id), "a response has exactly one of result and error")),
            },
            (None, None) => Err(invalid(None, "a message needs a method, or an id with a result or an error")),
        }
    }
}

/// The answer to request `id`.
pub(crate) fn response(id: &Value, outcome: Result<Value, RpcError>) -> Value {
    match outcome {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => json!({ "jsonrpc": "2.0", "id": id, "error": error.to_value() }),
    }
}

/// A notification the server sends.
pub(crate) fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// A request the server sends to the client.
pub(crate) fn request(id: &Value, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> i64 {
        Incoming::parse(body.as_bytes()).unwrap_err().1.code
    }

    #[test]
    fn each_kind_of_message_is_told_apart_and_each_malformed_one_has_its_code() {
        let request = Incoming::parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
        assert!(matches!(request, Incoming::Request { ref method, .. } if method == "ping"));
        let note = Incoming::parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(note, Incoming::Notification { .. }));
        let answer = Incoming::parse(br#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#).unwrap();
        assert!(matches!(answer, Incoming::Response { outcome: Ok(_), .. }));
        assert_eq!(code("{not json"), PARSE_ERROR);
        assert_eq!(code(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"id":1,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(code("42"), INVALID_REQUEST);
    }
}
