//! Revision 2026-07-28 of Streamable HTTP, the stateless one, served on the same endpoint as the
//! earlier revisions and chosen per request by its `MCP-Protocol-Version`: no session, every request
//! carrying in its `_meta` the protocol version, the client's capabilities and the log level it wants;
//! the `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers checked against the body; `server/discover`;
//! input the server needs asked for in the result (MRTR, see `input`); changes heard on a
//! `subscriptions/listen` stream; results with their `resultType` and caching hints.
//!
//! A request is answered with JSON unless its handler sends something before its answer (progress, a
//! log message): then with an event stream of its own, which is not resumable, and whose closing by
//! the client cancels the request.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc::unbounded_channel;

use crate::http::streams::{Event, LocalEventSource};
use crate::http::{HttpContent, HttpRequest, HttpResponse};
use crate::mcp::context::{CallContext, Caller, StatelessCaller};
use crate::mcp::input::McpInput;
use crate::mcp::json_rpc::{
    self, Incoming, RpcError, HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY, UNSUPPORTED_PROTOCOL_VERSION,
};
use crate::mcp::listen::{Filter, SUBSCRIPTION_ID};
use crate::mcp::provider::PROTOCOL_VERSIONS;
use crate::mcp::{request_headers, McpLogLevel, McpProvider};

/// The stateless revisions served.
pub(crate) const STATELESS_VERSIONS: [&str; 1] = ["2026-07-28"];

/// The `_meta` keys of a request.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// The `_meta` key of a result that names the server.
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Methods of the earlier revisions that this one removed.
const REMOVED_METHODS: [&str; 5] =
    ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"];

/// The results a client may cache (they carry `ttlMs` and `cacheScope`).
const CACHEABLE: [&str; 6] =
    ["server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"];

/// True when a request of this `MCP-Protocol-Version` is served statelessly: any version but those of
/// the session revisions (an unknown one is refused by the stateless rules, with the versions served).
pub(crate) fn is_stateless(version: &str) -> bool {
    !PROTOCOL_VERSIONS.contains(&version)
}

/// A refusal: an HTTP status and a JSON-RPC error.
type Refused = (StatusCode, RpcError);

/// The JSON answer to request `id` (an error with no id when the request's could not be read).
fn reply(status: StatusCode, id: &Value, outcome: Result<Value, RpcError>) -> HttpResponse {
    let mut body = json_rpc::response(id, outcome);
    if id.is_null() {
        body.as_object_mut().map(|body| body.remove("id"));
    }
    HttpResponse::from_status(status).with_content(HttpContent::json(body.to_string()))
}

/// The HTTP status of an error answer.
fn status_of(error: &RpcError) -> StatusCode {
    match error.code {
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        MISSING_CLIENT_CAPABILITY | HEADER_MISMATCH | UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

fn mismatch(why: String) -> Refused {
    (StatusCode::BAD_REQUEST, RpcError::new(HEADER_MISMATCH, why))
}

impl McpProvider {
    /// Serves one stateless POST whose `MCP-Protocol-Version` is `version`.
    pub(crate) async fn serve_stateless(&self, request: &HttpRequest, version: &str, body: &[u8]) -> HttpResponse {
        let (id, method, params) = match Incoming::parse(body) {
            Err((id, error)) => return reply(StatusCode::BAD_REQUEST, &id, Err(error)),
            Ok(Incoming::Notification { .. }) => return HttpResponse::from_status(StatusCode::ACCEPTED),
            Ok(Incoming::Response { id, .. }) => {
                let error = RpcError::new(
                    INVALID_REQUEST,
                    "a stateless client answers no request: send inputResponses with the request again",
                );
                return reply(StatusCode::BAD_REQUEST, &id, Err(error));
            }
            Ok(Incoming::Request { id, method, params }) => (id, method, params),
        };
        // On shared records, hear what the other nodes tell (resource updates for the listen streams).
        self.sessions.listen(request.server(), &self.server_name);
        let caller = match self.check_stateless(request, version, &method, &params) {
            Ok(caller) => caller,
            Err((status, error)) => return reply(status, &id, Err(error)),
        };
        match method.as_str() {
            "server/discover" => reply(StatusCode::OK, &id, Ok(self.decorate(&method, self.discover_result()))),
            "subscriptions/listen" => self.listen(request, id, &params).await,
            removed if REMOVED_METHODS.contains(&removed) => {
                let error = RpcError::new(METHOD_NOT_FOUND, format!("{removed} is not part of revision {version}"));
                reply(StatusCode::NOT_FOUND, &id, Err(error))
            }
            _ => self.answer_stateless(request, caller, id, method, params).await,
        }
    }

    /// The request's headers and `_meta`, checked in the order the revision gives: the headers that
    /// mirror the body, the `_meta` fields required, the version in both, a version served.
    fn check_stateless(
        &self,
        request: &HttpRequest,
        version: &str,
        method: &str,
        params: &Value,
    ) -> Result<StatelessCaller, Refused> {
        request_headers::check_standard(request, method, params).map_err(mismatch)?;
        let meta = params.get("_meta");
        let meta_version = meta.and_then(|meta| meta.get(META_VERSION)).and_then(Value::as_str);
        let capabilities = meta.and_then(|meta| meta.get(META_CAPABILITIES)).filter(|c| c.is_object());
        let (Some(meta_version), Some(capabilities)) = (meta_version, capabilities) else {
            let why = format!(
                "Invalid params: _meta must carry {META_VERSION} (a string) and {META_CAPABILITIES} (an object)"
            );
            return Err((StatusCode::BAD_REQUEST, RpcError::new(INVALID_PARAMS, why)));
        };
        if meta_version != version {
            return Err(mismatch(format!(
                "Header mismatch: MCP-Protocol-Version header value {version:?} does not match body value {meta_version:?}"
            )));
        }
        if !STATELESS_VERSIONS.contains(&version) {
            let error = RpcError {
                data: Some(json!({ "supported": supported_versions(), "requested": version })),
                ..RpcError::new(UNSUPPORTED_PROTOCOL_VERSION, format!("protocol version {version:?} is not served"))
            };
            return Err((StatusCode::BAD_REQUEST, error));
        }
        if method == "tools/call" {
            let tool = params.get("name").and_then(Value::as_str).and_then(|name| self.tools.shared(name));
            if let Some(tool) = tool {
                let arguments = params.get("arguments").unwrap_or(&Value::Null);
                request_headers::check_arguments(request, tool.schema().fields(), arguments).map_err(mismatch)?;
            }
        }
        let log_level = match meta.and_then(|meta| meta.get(META_LOG_LEVEL)) {
            None | Some(Value::Null) => None,
            Some(level) => Some(level.as_str().and_then(McpLogLevel::parse).ok_or_else(|| {
                (StatusCode::BAD_REQUEST, RpcError::invalid_params(format!("unknown log level {level}")))
            })?),
        };
        Ok(StatelessCaller { protocol_version: version.to_owned(), capabilities: capabilities.clone(), log_level })
    }

    /// What `server/discover` answers.
    fn discover_result(&self) -> Value {
        let mut result = json!({
            "supportedVersions": supported_versions(),
            "capabilities": {
                "tools": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "prompts": { "listChanged": true },
                "completions": {},
                "logging": {},
            },
        });
        if let Some(instructions) = &self.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// A stateless result as the revision wants it: its `resultType`, the caching hints of a result
    /// that may be cached, and the server's name in its `_meta`.
    fn decorate(&self, method: &str, mut result: Value) -> Value {
        let Some(fields) = result.as_object_mut() else {
            return result;
        };
        fields.entry("resultType").or_insert_with(|| json!("complete"));
        if CACHEABLE.contains(&method) && fields["resultType"] == "complete" {
            let ttl = u64::try_from(self.cache_ttl.as_millis()).unwrap_or(u64::MAX);
            fields.insert("ttlMs".into(), json!(ttl));
            fields.insert("cacheScope".into(), json!(if self.cache_public { "public" } else { "private" }));
        }
        let server = json!({ "name": self.server_name, "title": self.server_title, "version": self.server_version });
        let meta = fields.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(META_SERVER_INFO.into(), server);
        }
        result
    }

    /// Runs a request in a task of its own and answers it with JSON, or, once the handler sends
    /// something before its answer, with an event stream that ends with the answer; a client that
    /// closes that stream cancels the request.
    async fn answer_stateless(
        &self,
        request: &HttpRequest,
        caller: StatelessCaller,
        id: Value,
        method: String,
        params: Value,
    ) -> HttpResponse {
        let (channel, mut messages) = unbounded_channel();
        let cancelled = request.server().stopping().child_token();
        // However this ends — answered, its stream closed, or this future dropped with its connection —
        // the handler is told (after an answer, it no longer looks).
        let _cancel_on_exit = cancelled.clone().drop_guard();
        let call = CallContext {
            caller: Caller::Stateless(Arc::new(caller)),
            stream: None,
            channel: Some(channel),
            progress_token: params.get("_meta").and_then(|meta| meta.get("progressToken")).cloned(),
            cancelled: cancelled.clone(),
            request: request.clone(),
            input: McpInput::default(),
        };
        let provider = self.clone();
        let task_method = method.clone();
        let mut task = tokio::spawn(async move { provider.answer(&task_method, params, call).await });
        let first = tokio::select! {
            biased;
            Some(message) = messages.recv() => First::Message(message),
            joined = &mut task => First::Finished(joined),
        };
        let outcome = |joined: Result<Result<Value, RpcError>, tokio::task::JoinError>| match joined {
            Ok(outcome) => outcome.map(|result| self.decorate(&method, result)),
            Err(_) => Err(RpcError::new(INTERNAL_ERROR, format!("the handler of {method} failed"))),
        };
        let first_message = match first {
            First::Finished(joined) => {
                let outcome = outcome(joined);
                let status = outcome.as_ref().err().map_or(StatusCode::OK, status_of);
                return reply(status, &id, outcome);
            }
            First::Message(message) => message,
        };
        let source = match open_stream(request) {
            Ok(source) => source,
            Err(error) => {
                task.abort();
                return stream_refused(&error);
            }
        };
        send(&source, &first_message);
        loop {
            tokio::select! {
                biased;
                Some(message) = messages.recv() => {
                    send(&source, &message);
                }
                joined = &mut task => {
                    while let Ok(message) = messages.try_recv() {
                        send(&source, &message);
                    }
                    send(&source, &json_rpc::response(&id, outcome(joined)));
                    break;
                }
                () = source.keep_alive() => {
                    // The client closed the stream: the request is cancelled (its handler sees
                    // `context.cancellation()` and stops), and nothing more of it is sent.
                    cancelled.cancel();
                    break;
                }
            }
        }
        source.close()
    }

    /// `subscriptions/listen`: an event stream that acknowledges the filter, then carries each change
    /// the filter takes, until the client closes it or the server stops.
    async fn listen(&self, request: &HttpRequest, id: Value, params: &Value) -> HttpResponse {
        let Some(notifications) = params.get("notifications").filter(|n| n.is_object()) else {
            let error = RpcError::invalid_params("subscriptions/listen needs its notifications filter");
            return reply(StatusCode::OK, &id, Err(error));
        };
        let filter = Filter::of(notifications);
        let source = match open_stream(request) {
            Ok(source) => source,
            Err(error) => return stream_refused(&error),
        };
        let acknowledged = json!({ "notifications": filter.to_value(), "_meta": { SUBSCRIPTION_ID: id } });
        // Listening before the acknowledgement: a change between the two is queued, not lost.
        let (listening, mut changes) = self.sessions.listeners.add(id, filter);
        send(&source, &json_rpc::notification("notifications/subscriptions/acknowledged", acknowledged));
        if let Some(interval) = self.stream_keep_alive.filter(|interval| !interval.is_zero()) {
            source.with_ping(|ping| ping.start_with("keep-alive", interval));
        }
        let stopping = request.server().stopping();
        loop {
            tokio::select! {
                Some(change) = changes.recv() => {
                    send(&source, &change);
                }
                () = source.keep_alive() => break,
                () = stopping.cancelled() => break,
            }
        }
        drop(listening);
        source.close()
    }
}

/// The versions served, stateless first.
fn supported_versions() -> Vec<&'static str> {
    STATELESS_VERSIONS.iter().chain(PROTOCOL_VERSIONS.iter()).copied().collect()
}

/// What a stateless request does first: answer, or send something before its answer.
enum First {
    Finished(Result<Result<Value, RpcError>, tokio::task::JoinError>),
    Message(Value),
}

/// Opens the request's own event stream (not on the log: revision 2026-07-28 resumes none).
fn open_stream(request: &HttpRequest) -> Result<LocalEventSource, crate::Error> {
    let source = request.try_get_event_source(None)?;
    if let Err(error) = source.append_header("x-accel-buffering", "no") {
        tracing::debug!(%error, "X-Accel-Buffering could not be set");
    }
    Ok(source)
}

/// The answer when a request's stream could not be opened (the server holds all it may).
fn stream_refused(error: &crate::Error) -> HttpResponse {
    let status = error.status_code().unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    reply(status, &Value::Null, Err(RpcError::new(INTERNAL_ERROR, error.message().to_owned())))
}

fn send(source: &LocalEventSource, message: &Value) {
    source.send_event(&Event::new().data(message.to_string()));
}
