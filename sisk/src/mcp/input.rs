//! Input the server needs from the client before it can answer (revision 2026-07-28's multi
//! round-trip requests, MRTR): [`McpInputRequired`], what a tool or a prompt asks for (an elicitation, a
//! sampling, the client's roots, each under a key), and [`McpInput`], what the client answered so far.
//!
//! On a stateless request the answer is an `InputRequiredResult`: the client asks its user or its
//! model, then sends the same request again with `inputResponses` and the `requestState` it was given.
//! That state is sealed here (HMAC-SHA-256 under the provider's key) and carries the answers of the
//! earlier rounds, so a handler sees every answer it asked for however many rounds it took, and a state
//! the client altered is refused. In a session of an earlier revision the same handler works unchanged:
//! the framework sends each request to the client on the call's stream and runs the handler again with
//! the answers.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::mcp::json_rpc::RpcError;

/// How long a sealed `requestState` stays good.
const STATE_LIFETIME_SECS: u64 = 60 * 60;

/// How many rounds a handler may ask for before its request fails (in a session, where the framework
/// asks the client itself).
pub(crate) const MAX_ROUNDS: usize = 16;

/// What a handler asks the client for before it can answer, each request under a key the answer comes
/// back under ([`McpInput::response`]).
///
/// ```
/// use serde_json::json;
/// use sisk::mcp::{McpInputRequired, McpToolContext, McpToolResult};
///
/// async fn greet(context: McpToolContext) -> McpToolResult {
///     match context.input().response("user_name") {
///         Some(answer) => McpToolResult::create_text(format!("Hello, {}!", answer["content"]["name"])),
///         None => McpToolResult::input_required(McpInputRequired::new().elicit(
///             "user_name",
///             json!({
///                 "message": "What is your name?",
///                 "requestedSchema": {
///                     "type": "object",
///                     "properties": { "name": { "type": "string" } },
///                     "required": ["name"],
///                 },
///             }),
///         )),
///     }
/// }
/// # let _ = greet;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpInputRequired {
    requests: Map<String, Value>,
    state: Option<Value>,
}

impl McpInputRequired {
    /// Nothing asked yet.
    pub fn new() -> Self {
        McpInputRequired::default()
    }

    fn ask(mut self, key: impl Into<String>, method: &str, params: Value) -> Self {
        self.requests.insert(key.into(), json!({ "method": method, "params": params }));
        self
    }

    /// Asks the user for input fitting `params.requestedSchema` (`elicitation/create`; the client
    /// must declare `elicitation`).
    pub fn elicit(self, key: impl Into<String>, params: Value) -> Self {
        self.ask(key, "elicitation/create", params)
    }

    /// Asks the client's model for a message (`sampling/createMessage`; the client must declare
    /// `sampling`).
    pub fn create_message(self, key: impl Into<String>, params: Value) -> Self {
        self.ask(key, "sampling/createMessage", params)
    }

    /// Asks for the client's roots (`roots/list`; the client must declare `roots`).
    pub fn list_roots(self, key: impl Into<String>) -> Self {
        self.ask(key, "roots/list", json!({}))
    }

    /// State of the handler's own to have back with the answers ([`McpInput::state`]): the client
    /// carries it sealed, so it cannot change it.
    pub fn with_state(mut self, state: Value) -> Self {
        self.state = Some(state);
        self
    }

    /// The requests, by key.
    pub(crate) fn requests(&self) -> &Map<String, Value> {
        &self.requests
    }

    /// The handler's state for the next round.
    pub(crate) fn state(&self) -> Option<&Value> {
        self.state.as_ref()
    }

    /// The client capabilities the requests need and `has` does not declare, as a `ClientCapabilities`
    /// object (`{ "sampling": {} }`), or `None` when it declares them all.
    pub(crate) fn missing_capabilities(&self, has: impl Fn(&str) -> bool) -> Option<Value> {
        let mut missing = Map::new();
        for request in self.requests.values() {
            let capability = capability_of(request["method"].as_str().unwrap_or_default());
            if !has(capability) {
                missing.insert(capability.to_owned(), json!({}));
            }
        }
        (!missing.is_empty()).then_some(Value::Object(missing))
    }
}

/// The client capability a request of the server's needs.
pub(crate) fn capability_of(method: &str) -> &'static str {
    match method {
        "sampling/createMessage" => "sampling",
        "roots/list" => "roots",
        _ => "elicitation",
    }
}

/// What the client answered to a handler's [`McpInputRequired`], over every round so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpInput {
    responses: Map<String, Value>,
    state: Option<Value>,
}

impl McpInput {
    /// The answer under `key`: an `ElicitResult` (`action`, `content`), a `CreateMessageResult` or a
    /// `ListRootsResult`, as the client sent it.
    pub fn response(&self, key: &str) -> Option<&Value> {
        self.responses.get(key)
    }

    /// Every answer, by key.
    pub fn responses(&self) -> &Map<String, Value> {
        &self.responses
    }

    /// The state the handler gave with its last [`McpInputRequired`].
    pub fn state(&self) -> Option<&Value> {
        self.state.as_ref()
    }

    /// True before any answer.
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty()
    }

    /// Adds the answers of one more round, and the handler's state for it.
    pub(crate) fn answered(&mut self, responses: Map<String, Value>, state: Option<Value>) {
        self.responses.extend(responses);
        self.state = state;
    }
}

/// The key a provider seals `requestState` with.
#[derive(Clone)]
pub(crate) struct StateSeal {
    key: Vec<u8>,
}

impl std::fmt::Debug for StateSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSeal")
    }
}

impl Default for StateSeal {
    /// A random key: good for one node; nodes behind one load balancer share one
    /// ([`McpProvider::set_request_state_key`](crate::mcp::McpProvider::set_request_state_key)).
    fn default() -> Self {
        let mut key = vec![0u8; 32];
        if getrandom::getrandom(&mut key).is_err() {
            key = format!("{:?}{}", SystemTime::now(), std::process::id()).into_bytes();
        }
        StateSeal { key }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl StateSeal {
    pub(crate) fn with_key(key: &[u8]) -> Self {
        StateSeal { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length")
    }

    /// The `requestState` for the next round of request `name`: the answers so far and the handler's
    /// state, sealed.
    pub(crate) fn seal(&self, name: &str, input: &McpInput, state: Option<&Value>) -> String {
        let body = json!({ "n": name, "t": now_secs(), "r": input.responses, "s": state });
        let body = URL_SAFE_NO_PAD.encode(body.to_string());
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The input a retried request `name` carries: the answers sealed in its `requestState` (refused
    /// when altered, expired or of another request) with its `inputResponses` added.
    pub(crate) fn open(&self, name: &str, params: &Value) -> Result<McpInput, RpcError> {
        let mut input = McpInput::default();
        match params.get("requestState") {
            None | Some(Value::Null) => {}
            Some(Value::String(sealed)) => input = self.unseal(name, sealed)?,
            Some(_) => return Err(RpcError::invalid_params("requestState is a string")),
        }
        match params.get("inputResponses") {
            None => {}
            Some(Value::Object(responses)) => {
                if let Some((key, _)) = responses.iter().find(|(_, answer)| !answer.is_object()) {
                    return Err(RpcError::invalid_params(format!("inputResponses.{key} is not an answer (an object)")));
                }
                input.responses.extend(responses.clone());
            }
            Some(_) => return Err(RpcError::invalid_params("inputResponses is an object of answers by key")),
        }
        Ok(input)
    }

    fn unseal(&self, name: &str, sealed: &str) -> Result<McpInput, RpcError> {
        let refused =
            || RpcError::invalid_params("requestState failed its integrity check: send the one the server gave");
        let (body, tag) = sealed.split_once('.').ok_or_else(refused)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).map_err(|_| refused())?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| refused())?;
        let body: Value = serde_json::from_slice(&body).map_err(|_| refused())?;
        if body["n"] != name {
            return Err(RpcError::invalid_params("requestState belongs to another request"));
        }
        if now_secs().saturating_sub(body["t"].as_u64().unwrap_or(0)) > STATE_LIFETIME_SECS {
            return Err(RpcError::invalid_params("requestState expired: send the request again without it"));
        }
        let responses = match &body["r"] {
            Value::Object(responses) => responses.clone(),
            _ => Map::new(),
        };
        let state = Some(body["s"].clone()).filter(|state| !state.is_null());
        Ok(McpInput { responses, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_state_opens_with_its_answers_and_refuses_any_change() {
        let seal = StateSeal::default();
        let mut input = McpInput::default();
        input.answered(Map::from_iter([("step1".to_owned(), json!({ "action": "accept" }))]), None);
        let sealed = seal.seal("tool:wizard", &input, Some(&json!({ "round": 2 })));
        let params = json!({ "requestState": sealed, "inputResponses": { "step2": { "action": "decline" } } });
        let opened = seal.open("tool:wizard", &params).unwrap();
        assert_eq!(opened.response("step1").unwrap()["action"], "accept");
        assert_eq!(opened.response("step2").unwrap()["action"], "decline");
        assert_eq!(opened.state(), Some(&json!({ "round": 2 })));

        let tampered = json!({ "requestState": format!("{sealed}-TAMPERED") });
        assert_eq!(seal.open("tool:wizard", &tampered).unwrap_err().code, crate::mcp::json_rpc::INVALID_PARAMS);
        assert!(seal.open("tool:other", &json!({ "requestState": sealed })).is_err());
        assert!(StateSeal::default().open("tool:wizard", &json!({ "requestState": sealed })).is_err());
        assert!(seal.open("tool:wizard", &json!({ "inputResponses": { "a": 1 } })).is_err());
        assert!(seal.open("tool:wizard", &json!({ "inputResponses": null })).is_err());
    }
}
