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
    /// carries it signed, so it cannot change it — but it can read it, so keep secrets out of it.
    pub fn with_state(mut self, state: Value) -> Self {
        self.state = Some(state);
        self
    }

    /// True when it asks for nothing yet (a handler returning it fails: ask for something, or answer).
    pub fn requests_nothing(&self) -> bool {
        self.requests.is_empty()
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
    /// How many rounds asked for input before this one.
    round: usize,
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
        self.round += 1;
    }
}

/// The key a provider seals `requestState` with (`None` when no random key could be had: the provider
/// then refuses to ask for input until one is set).
#[derive(Clone)]
pub(crate) struct StateSeal {
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for StateSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSeal")
    }
}

/// The shortest key [`McpProvider::set_request_state_key`](crate::mcp::McpProvider::set_request_state_key)
/// takes, in bytes.
pub(crate) const MINIMUM_KEY_LENGTH: usize = 32;

impl Default for StateSeal {
    /// A random key: good for one node; nodes behind one load balancer share one
    /// ([`McpProvider::set_request_state_key`](crate::mcp::McpProvider::set_request_state_key)).
    fn default() -> Self {
        let mut key = vec![0u8; MINIMUM_KEY_LENGTH];
        StateSeal { key: getrandom::getrandom(&mut key).is_ok().then_some(key) }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `value` as text with every object's keys sorted, so that equal JSON has one form.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| format!("{}:{}", Value::String(key.clone()), canonical(&map[key])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// What a `requestState` is bound to: the provider, the request (`tool:<name>` or `prompt:<name>`) and
/// its arguments, as a digest — state sealed for one call is refused for any other.
pub(crate) fn binding(server_name: &str, request: &str, arguments: &Value) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(format!("{server_name}\n{request}\n{}", canonical(arguments)).as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

impl StateSeal {
    /// A seal with `key` (at least [`MINIMUM_KEY_LENGTH`] bytes, checked by the caller).
    pub(crate) fn with_key(key: &[u8]) -> Self {
        StateSeal { key: Some(key.to_vec()) }
    }

    fn mac(&self) -> Result<Hmac<Sha256>, RpcError> {
        let key = self.key.as_deref().ok_or_else(|| {
            RpcError::new(
                crate::mcp::json_rpc::INTERNAL_ERROR,
                "the server has no key to seal requestState with: set one with McpProvider::set_request_state_key",
            )
        })?;
        Ok(Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length"))
    }

    /// The `requestState` for the next round of the call `binding`: the answers so far, the keys asked
    /// now (the only ones the next round may answer), the handler's state and the round, sealed. The
    /// state is signed, not encrypted: the client can read it.
    pub(crate) fn seal(
        &self,
        binding: &str,
        input: &McpInput,
        required: &McpInputRequired,
    ) -> Result<String, RpcError> {
        let round = input.round + 1;
        if round >= MAX_ROUNDS {
            return Err(RpcError::new(
                crate::mcp::json_rpc::INTERNAL_ERROR,
                format!("the request asked for input more than {MAX_ROUNDS} times"),
            ));
        }
        let asked: Vec<&String> = required.requests.keys().collect();
        let body = json!({
            "b": binding, "t": now_secs(), "c": round, "k": asked, "r": input.responses, "s": required.state,
        });
        let body = URL_SAFE_NO_PAD.encode(body.to_string());
        let mut mac = self.mac()?;
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{body}.{tag}"))
    }

    /// The input a retried call carries (`binding` says what it is bound to, asked only when it has a
    /// `requestState`). With a `requestState`: the answers sealed in it
    /// (refused when altered, expired or sealed for another call), and from `inputResponses` only the
    /// answers to what the last round asked — never one that replaces a sealed answer, and others
    /// ignored. Without one (a first round): its `inputResponses` as they are.
    pub(crate) fn open(&self, binding: impl FnOnce() -> String, params: &Value) -> Result<McpInput, RpcError> {
        let (mut input, asked) = match params.get("requestState") {
            None | Some(Value::Null) => (McpInput::default(), None),
            Some(Value::String(sealed)) => {
                let (input, asked) = self.unseal(&binding(), sealed)?;
                (input, Some(asked))
            }
            Some(_) => return Err(RpcError::invalid_params("requestState is a string")),
        };
        match params.get("inputResponses") {
            None => {}
            Some(Value::Object(responses)) => {
                if let Some((key, _)) = responses.iter().find(|(_, answer)| !answer.is_object()) {
                    return Err(RpcError::invalid_params(format!("inputResponses.{key} is not an answer (an object)")));
                }
                for (key, answer) in responses {
                    let expected = asked.as_ref().is_none_or(|asked| asked.contains(key));
                    if expected && !input.responses.contains_key(key) {
                        input.responses.insert(key.clone(), answer.clone());
                    }
                }
            }
            Some(_) => return Err(RpcError::invalid_params("inputResponses is an object of answers by key")),
        }
        Ok(input)
    }

    fn unseal(&self, binding: &str, sealed: &str) -> Result<(McpInput, Vec<String>), RpcError> {
        let refused =
            || RpcError::invalid_params("requestState failed its integrity check: send the one the server gave");
        let (body, tag) = sealed.split_once('.').ok_or_else(refused)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
        let mut mac = self.mac()?;
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).map_err(|_| refused())?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| refused())?;
        let body: Value = serde_json::from_slice(&body).map_err(|_| refused())?;
        if body["b"] != binding {
            return Err(RpcError::invalid_params(
                "requestState belongs to another call (its tool, prompt or arguments differ)",
            ));
        }
        if now_secs().saturating_sub(body["t"].as_u64().unwrap_or(0)) > STATE_LIFETIME_SECS {
            return Err(RpcError::invalid_params("requestState expired: send the request again without it"));
        }
        let responses = match &body["r"] {
            Value::Object(responses) => responses.clone(),
            _ => Map::new(),
        };
        let asked = body["k"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
        let state = Some(body["s"].clone()).filter(|state| !state.is_null());
        let round = usize::try_from(body["c"].as_u64().unwrap_or(0)).unwrap_or(MAX_ROUNDS);
        Ok((McpInput { responses, state, round }, asked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_state_opens_with_its_answers_for_its_own_call_only() {
        let seal = StateSeal::default();
        let call = binding("server", "tool:wizard", &json!({ "path": "/tmp/x", "force": true }));
        let same_call = binding("server", "tool:wizard", &json!({ "force": true, "path": "/tmp/x" }));
        assert_eq!(call, same_call, "the order of the arguments does not matter");
        let mut input = McpInput::default();
        input.answered(Map::from_iter([("step1".to_owned(), json!({ "action": "accept" }))]), None);
        let asked = McpInputRequired::new().elicit("step2", json!({})).with_state(json!({ "round": 2 }));
        let sealed = seal.seal(&call, &input, &asked).unwrap();
        let params = json!({ "requestState": sealed, "inputResponses": {
            "step2": { "action": "decline" },
            "step1": { "action": "decline" },
            "never_asked": { "action": "accept" },
        } });
        let opened = seal.open(|| call.clone(), &params).unwrap();
        assert_eq!(opened.response("step1").unwrap()["action"], "accept", "a sealed answer is never replaced");
        assert_eq!(opened.response("step2").unwrap()["action"], "decline");
        assert!(opened.response("never_asked").is_none(), "what was not asked is ignored");
        assert_eq!(opened.state(), Some(&json!({ "round": 2 })));

        let invalid = |params: Value, call: &str| seal.open(|| call.to_owned(), &params).unwrap_err().code;
        assert_eq!(
            invalid(json!({ "requestState": format!("{sealed}-TAMPERED") }), &call),
            crate::mcp::json_rpc::INVALID_PARAMS
        );
        let other_arguments = binding("server", "tool:wizard", &json!({ "path": "/etc" }));
        assert_eq!(
            invalid(json!({ "requestState": sealed.clone() }), &other_arguments),
            crate::mcp::json_rpc::INVALID_PARAMS
        );
        assert!(StateSeal::default().open(|| call.clone(), &json!({ "requestState": sealed })).is_err());
        assert!(seal.open(|| call.clone(), &json!({ "inputResponses": { "a": 1 } })).is_err());
        assert!(seal.open(|| call.clone(), &json!({ "inputResponses": null })).is_err());
    }

    #[test]
    fn a_call_may_ask_only_so_many_rounds() {
        let seal = StateSeal::default();
        let asked = McpInputRequired::new().elicit("again", json!({}));
        let mut input = McpInput::default();
        let mut rounds = 0;
        while let Ok(sealed) = seal.seal("b", &input, &asked) {
            input = seal.open(|| "b".to_owned(), &json!({ "requestState": sealed })).unwrap();
            rounds += 1;
            assert!(rounds < 100);
        }
        assert_eq!(rounds, MAX_ROUNDS - 1);
    }
}
