//! [`McpToolContext`]: what a tool's handler is given — the call's arguments (Sisk's
//! `context.Arguments`), what the client answered to the handler's questions, and the ways back to the
//! client while the call runs: progress, log messages, requests to the client (sampling, elicitation),
//! cancellation, and ending the connection so the client polls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::http::HttpRequest;
use crate::mcp::input::McpInput;
use crate::mcp::json_rpc;
use crate::mcp::session::{RequestStream, Session};
use crate::mcp::McpLogLevel;
use crate::Error;

/// How long a request of the server's waits for the client's answer.
const CLIENT_ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// The context of one tool call (Sisk's `McpToolContext`).
#[derive(Clone)]
pub struct McpToolContext {
    arguments: Value,
    call: CallContext,
}

/// Who sent a request: a session of revisions 2025-03-26 to 2025-11-25, or a stateless request of
/// revision 2026-07-28, which carries what the client can do and the log level it wants itself.
#[derive(Clone)]
pub(crate) enum Caller {
    Session(Arc<Session>),
    Stateless(Arc<StatelessCaller>),
}

/// What a stateless request says of its client (its `_meta`).
#[derive(Debug)]
pub(crate) struct StatelessCaller {
    pub(crate) protocol_version: String,
    pub(crate) capabilities: Value,
    pub(crate) log_level: Option<McpLogLevel>,
}

impl Caller {
    pub(crate) fn client_can(&self, capability: &str) -> bool {
        match self {
            Caller::Session(session) => session.client_can(capability),
            Caller::Stateless(caller) => caller.capabilities.get(capability).is_some(),
        }
    }

    fn logs(&self, level: McpLogLevel) -> bool {
        match self {
            Caller::Session(session) => session.logs(level),
            Caller::Stateless(caller) => caller.log_level.is_some_and(|least| level >= least),
        }
    }

    /// The session, for what only a session has.
    pub(crate) fn session(&self) -> Option<&Arc<Session>> {
        match self {
            Caller::Session(session) => Some(session),
            Caller::Stateless(_) => None,
        }
    }
}

/// What any request has while it is served: who sent it, where its messages go, its progress token,
/// its cancellation, and the answers to what its handler asked.
#[derive(Clone)]
pub(crate) struct CallContext {
    pub(crate) caller: Caller,
    pub(crate) stream: Option<RequestStream>,
    /// A stateless request's messages, to the POST that waits for its answer.
    pub(crate) channel: Option<UnboundedSender<Value>>,
    pub(crate) progress_token: Option<Value>,
    pub(crate) cancelled: CancellationToken,
    pub(crate) request: HttpRequest,
    pub(crate) input: McpInput,
}

impl CallContext {
    /// Sends `message` on the request's stream, or on the session's GET stream when the request is
    /// answered with plain JSON.
    pub(crate) fn send(&self, message: &Value) -> bool {
        if let Some(channel) = &self.channel {
            return channel.send(message.clone()).is_ok();
        }
        match (&self.stream, &self.caller) {
            (Some(stream), _) => stream.outbound.send(message),
            (None, Caller::Session(session)) => session.standalone().send(message),
            (None, Caller::Stateless(_)) => false,
        }
    }

    /// Sends the request `method` to the client on the call's stream and waits for its answer (an
    /// error if the client did not declare `capability`, answered an error, did not answer in two
    /// minutes, or the call was cancelled; always one for a stateless request).
    pub(crate) async fn ask_client(&self, capability: &str, method: &str, params: Value) -> Result<Value, Error> {
        let Caller::Session(session) = &self.caller else {
            return Err(Error::mcp_stateless_request(method));
        };
        if !session.client_can(capability) {
            return Err(Error::mcp_client_cannot(capability, method));
        }
        let (outgoing, answer) = session.new_outgoing_request();
        if !self.send(&json_rpc::request(&outgoing.id, method, params)) {
            return Err(Error::mcp_client_request_failed(method, "the event log did not accept it"));
        }
        let outcome = tokio::select! {
            answer = answer => answer.map_err(|_| Error::mcp_client_request_failed(method, "the session ended")),
            () = tokio::time::sleep(CLIENT_ANSWER_TIMEOUT) => Err(Error::mcp_client_request_failed(method, "no answer in time")),
            () = self.cancelled.cancelled() => Err(Error::mcp_client_request_failed(method, "the call was cancelled")),
        };
        drop(outgoing);
        match outcome? {
            Ok(result) => Ok(result),
            Err(error) => Err(Error::mcp_client_request_failed(method, &format!("the client answered {error}"))),
        }
    }
}

impl McpToolContext {
    pub(crate) fn new(arguments: Value, call: CallContext) -> Self {
        McpToolContext { arguments, call }
    }

    /// The call's arguments, a JSON object (Sisk's `context.Arguments`): `context.arguments()["numbers"]`
    /// is `Value::Null` for an argument left out.
    pub fn arguments(&self) -> &Value {
        &self.arguments
    }

    /// The argument `name` as a `T`: an error (whose text becomes the tool's error result) when it is
    /// missing or not a `T`. For an optional argument, ask for an `Option<T>`.
    pub fn argument<T: DeserializeOwned>(&self, name: &str) -> Result<T, Error> {
        let value = self.arguments.get(name).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| Error::invalid_argument(name, &e.to_string()))
    }

    /// The HTTP request that carried the call (its headers, the client's address, the server's state).
    pub fn request(&self) -> &HttpRequest {
        &self.call.request
    }

    /// The session's id (`Mcp-Session-Id`); `None` for a stateless request (revision 2026-07-28).
    pub fn session_id(&self) -> Option<&str> {
        self.call.caller.session().map(|session| session.id())
    }

    /// The protocol revision of the request: the one its session negotiated, or the stateless
    /// request's own (`"2026-07-28"`).
    pub fn protocol_version(&self) -> &str {
        match &self.call.caller {
            Caller::Session(session) => session.protocol_version(),
            Caller::Stateless(caller) => &caller.protocol_version,
        }
    }

    /// What the client answered to the handler's [`McpInputRequired`](crate::mcp::McpInputRequired)
    /// so far (empty on the first round).
    pub fn input(&self) -> &McpInput {
        &self.call.input
    }

    /// True when the client declared `capability` (`"sampling"`, `"elicitation"`, `"roots"`): at
    /// `initialize` in a session, on the request itself when stateless.
    pub fn client_can(&self, capability: &str) -> bool {
        self.call.caller.client_can(capability)
    }

    /// Cancelled when the client cancels the call (`notifications/cancelled`), the session ends or the
    /// server stops: a long tool selects on it and stops early (its result is then not sent).
    pub fn cancellation(&self) -> &CancellationToken {
        &self.call.cancelled
    }

    /// Tells the client how far the call is (`notifications/progress`), if it asked for progress with
    /// a `progressToken`; false when it did not, or the message was not accepted.
    pub fn notify_progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> bool {
        let Some(token) = &self.call.progress_token else {
            return false;
        };
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.call.send(&json_rpc::notification("notifications/progress", params))
    }

    /// Sends a log message (`notifications/message`) at `level`, unless the client asked for a higher
    /// level (`logging/setLevel` in a session, the request's `logLevel` when stateless, where a request
    /// that names no level gets no log message).
    pub fn log(&self, level: McpLogLevel, data: impl Into<Value>) -> bool {
        if !self.call.caller.logs(level) {
            return false;
        }
        let params = json!({ "level": level.as_str(), "data": data.into() });
        self.call.send(&json_rpc::notification("notifications/message", params))
    }

    /// Asks the client to sample its model (`sampling/createMessage`) and waits for the answer.
    pub async fn create_message(&self, params: Value) -> Result<Value, Error> {
        self.ask_client("sampling", "sampling/createMessage", params).await
    }

    /// Asks the user, through the client, for input fitting `params.requestedSchema`
    /// (`elicitation/create`) and waits for the answer (`action`, and `content` when accepted).
    pub async fn elicit(&self, params: Value) -> Result<Value, Error> {
        self.ask_client("elicitation", "elicitation/create", params).await
    }

    /// Sends the request `method` to the client on the call's stream and waits for its answer (an
    /// error if the client did not declare `capability`, answered an error, did not answer in two
    /// minutes, or the call was cancelled). A stateless request has no stream to ask on: its handler
    /// returns an [`McpInputRequired`](crate::mcp::McpInputRequired) instead.
    async fn ask_client(&self, capability: &str, method: &str, params: Value) -> Result<Value, Error> {
        self.call.ask_client(capability, method, params).await
    }

    /// Ends the connection that carries the call's stream without ending the call (SSE polling): the
    /// client reconnects after the `retry` it was told and, with `Last-Event-ID`, is sent what the call
    /// sent meanwhile. Nothing happens when the call is answered with plain JSON.
    pub fn close_sse_stream(&self) {
        if let Some(stream) = &self.call.stream {
            stream.close_connection();
        }
    }
}

impl fmt::Debug for McpToolContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpToolContext")
            .field("arguments", &self.arguments)
            .field("session", &self.session_id())
            .finish_non_exhaustive()
    }
}
