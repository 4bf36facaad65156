//! The one error type of the crate, [`Error`], and what it can be, [`ErrorKind`].
//!
//! [`Error`] is opaque, as hyper's is: callers ask what it is with [`Error::kind`], a `#[non_exhaustive]`
//! enum, so new kinds can be added without breaking anyone. The cause of an error made from another one
//! stays reachable through [`source`](std::error::Error::source). Every message says what went wrong *and*
//! what to do. Mistakes made while building the server (a route collision, a bad listening port) are kept
//! apart from answers to requests: they have no status code. A handler may return
//! `Result<T, sisk::Error>`; the error then becomes a response whose status is [`Error::status_code`]
//! (500 when it has none).

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

/// The error type of sisk: misuse of the API, invalid configuration, or a request the server refuses.
///
/// Its `Debug` form leads with the message, so `fn main() -> Result<(), sisk::Error>` that fails at
/// `build()` prints what went wrong and what to do (`{:#?}` shows the fields).
///
/// ```
/// use sisk::prelude::*;
/// use sisk::ErrorKind;
///
/// let mut r = Router::new();
/// r.map_get("/", |_req| async { "home" });
/// let err = r.set_route(Route::get("/", |_req| async { "again" })).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::RouteCollision);
/// assert_eq!(err.status_code(), None); // a mistake in the program, not an answer to a request
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// The status of a [`Error::with_status`] error.
    status: Option<StatusCode>,
    /// The error this one was made from, kept for `source()` and the log (never sent to a client).
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// Further mistakes found together with this one (the router reports all of its own at `build()`).
    related: Vec<Error>,
}

/// Two errors are equal when their kind, status and message are; their causes are not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.status == other.status && self.message == other.message
    }
}

impl Eq for Error {}

/// What an [`Error`] is. Match on it with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Building the server: two routes would answer the same requests.
    RouteCollision,
    /// Building the server: a route path is not valid.
    InvalidRoutePath,
    /// Building the server: a controller with routes on `&self` was added by type, without an instance.
    ControllerNeedsInstance,
    /// Building the server: a listening port could not be parsed.
    InvalidListeningPort,
    /// Building the server: a TLS certificate or its key could not be read or used.
    InvalidCertificate,
    /// Using the API: a header was appended to an event source after its head was sent.
    HeadersAlreadySent,
    /// Using the API: a header name or value was not valid (for example a value with CR or LF).
    InvalidHeader,
    /// Using the API: `get_event_source` was called twice on one request.
    EventSourceAlreadyOpen,
    /// Using the API: an entry meant for a predicate was handed to a backplane directly (the collection
    /// turns a predicate into the identifiers it accepts first).
    AudienceNotPortable,
    /// A request: a route parameter did not parse as the type asked for (`400`).
    InvalidParameter,
    /// Using the API: a route parameter was asked for by a name its route does not have.
    UnknownParameter,
    /// A request: an event-source identifier held a control character (`400`).
    InvalidIdentifier,
    /// A request: an event stream was refused because its identifier is in use
    /// ([`IdentifierPolicy::RejectNew`](crate::http::streams::IdentifierPolicy::RejectNew), `409`).
    IdentifierInUse,
    /// A request: its body was over the configured maximum content length (`413`).
    ContentTooLarge,
    /// A request: reading its body failed (the client went away, or sent a malformed body; `400`).
    BodyRead,
    /// A request: its body paused too long, or took too long in all (`408`).
    BodyTimeout,
    /// A request: an event stream was refused because the server has
    /// [`maximum_event_sources`](crate::http::HttpServerConfiguration::maximum_event_sources) open. Its
    /// status is `503`, but it answers with a stream a browser retries: `200 text/event-stream` carrying
    /// `retry:` and `Retry-After`, then the end (an `EventSource` gives up for good on a `503`).
    TooManyEventSources,
    /// An event could not be published because the backplane's broker is unreachable or its outbox is
    /// full, or the cluster's count could not be queried from it (`503`).
    BrokerUnavailable,
    /// Using the API: a response stream (or an event stream) was asked for twice on one request.
    ResponseStreamAlreadyOpen,
    /// Using the API: a response stream wrote more, or fewer, bytes than the content length it declared.
    ContentLengthMismatch,
    /// A response stream is closed: the client went away, the server is stopping, or it was closed.
    ResponseStreamClosed,
    /// A request: its body was read as JSON, a form or a multipart form, and its `Content-Type` names
    /// something else, or nothing (`415`).
    UnsupportedMediaType,
    /// A request: its body could not be read as what was asked — JSON that does not parse or does not fit
    /// the type, a malformed multipart body, a form value missing or not of its type (`400`).
    InvalidContent,
    /// A request: its form went past a limit — too many fields, a field or a file too large (`413`).
    FormLimitExceeded,
    /// Building the server: a trusted proxy given to a
    /// [`ForwardingResolver`](crate::http::ForwardingResolver) is neither an IP address nor a CIDR network.
    InvalidTrustedProxy,
    /// A handler asked for a value of state the server was not given (see
    /// [`use_state`](crate::http::HttpServerHostContextBuilder::use_state); `500`).
    StateMissing,
    /// Using the MCP API: a schema that is not one, a handler that asked the client for what it
    /// cannot do, or a request served with no provider set (`500`).
    #[cfg(feature = "mcp")]
    McpMisuse,
    /// An MCP tool's request to the client (sampling, elicitation) got no answer: the client answered
    /// an error, did not answer in time, or the call or the session ended.
    #[cfg(feature = "mcp")]
    McpClientRequest,
    /// An append waited for replicas (`RedisBackplane::wait_for_replicas`) and fewer had it in time:
    /// the event is in the log and may be delivered, but a failover could lose it (`503`).
    NotReplicated,
    /// A log setting cannot be used: an access-log format with an unknown variable, a file rotated at
    /// 0 bytes.
    InvalidLogConfiguration,
    /// A request: a WebSocket was asked of a request that does not ask to upgrade to one, or asks for a
    /// version other than 13 (`426 Upgrade Required`, with `Upgrade: websocket` and
    /// `Sec-WebSocket-Version: 13`).
    UpgradeRequired,
    /// A request: its WebSocket handshake is malformed — no or a bad `Sec-WebSocket-Key`, no
    /// `Connection: upgrade`, a method other than `GET` (`400`).
    InvalidHandshake,
    /// Using the API: `get_web_socket` was called on a request that already streams (a second call, or
    /// after `get_event_source`), or that no server of sisk's can upgrade (`500`).
    WebSocketUnavailable,
    /// An operating-system call failed (for example binding the listening port).
    Io,
    /// A failure of something a handler called, made with [`Error::internal`] (`500`).
    Internal,
    /// An answer chosen by the program, made with [`Error::with_status`].
    Response,
}

impl ErrorKind {
    /// True for the mistakes found while building the server, which are not answers to any request.
    pub fn is_build_time(self) -> bool {
        matches!(
            self,
            ErrorKind::RouteCollision
                | ErrorKind::InvalidRoutePath
                | ErrorKind::ControllerNeedsInstance
                | ErrorKind::InvalidListeningPort
                | ErrorKind::InvalidCertificate
                | ErrorKind::InvalidTrustedProxy
                | ErrorKind::InvalidLogConfiguration
        )
    }
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), status: None, cause: None, related: Vec::new() }
    }

    /// Keeps `cause`, the error this one was made from, as its [`source`](std::error::Error::source).
    pub(crate) fn caused_by(mut self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.cause = Some(Arc::from(cause.into()));
        self
    }

    pub(crate) fn headers_already_sent(name: &str) -> Self {
        Self::new(
            ErrorKind::HeadersAlreadySent,
            format!(
                "cannot append header `{name}`: the response head was already sent with the first message; \
                 call append_header before the first send, wait or close"
            ),
        )
    }

    pub(crate) fn invalid_header(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidHeader, format!("invalid header: {what}"))
    }

    pub(crate) fn state_missing(type_name: &str) -> Self {
        Self::new(
            ErrorKind::StateMissing,
            format!(
                "the server has no state of type `{type_name}`: give it one with \
                 HttpServer::create_builder().use_state(…) before build()"
            ),
        )
    }

    pub(crate) fn event_source_already_open() -> Self {
        Self::new(
            ErrorKind::EventSourceAlreadyOpen,
            "get_event_source was already called on this request; keep the first LocalEventSource \
             (it is a cheap clonable handle) instead of asking for a second one",
        )
    }

    pub(crate) fn invalid_identifier(identifier: &str) -> Self {
        Self::new(
            ErrorKind::InvalidIdentifier,
            format!(
                "the identifier {identifier:?} (of an event source or WebSocket) holds a control character; \
                 identifiers must be printable text (check or escape the input it is built from)"
            ),
        )
    }

    /// `what` is opening: "an event stream", "a WebSocket".
    pub(crate) fn identifier_in_use(what: &str, identifier: &str) -> Self {
        Self::new(
            ErrorKind::IdentifierInUse,
            format!(
                "{what} with the identifier {identifier:?} is already open, and the identifier policy \
                 rejects a second one; close the first, or choose IdentifierPolicy::AllowSeveral or Replace"
            ),
        )
    }

    #[cfg(feature = "websockets")]
    pub(crate) fn upgrade_required(why: &str) -> Self {
        Self::new(
            ErrorKind::UpgradeRequired,
            format!("this route answers WebSockets, and the request cannot become one: {why}"),
        )
    }

    #[cfg(feature = "websockets")]
    pub(crate) fn invalid_handshake(why: &str) -> Self {
        Self::new(ErrorKind::InvalidHandshake, format!("malformed WebSocket handshake: {why}"))
    }

    #[cfg(feature = "websockets")]
    pub(crate) fn web_socket_unavailable(why: &str) -> Self {
        Self::new(ErrorKind::WebSocketUnavailable, format!("get_web_socket cannot upgrade this request: {why}"))
    }

    pub(crate) fn content_too_large(limit: u64) -> Self {
        Self::new(
            ErrorKind::ContentTooLarge,
            format!(
                "the request body is larger than the server accepts ({limit} bytes); \
                 raise HttpServerConfiguration::maximum_content_length to accept it"
            ),
        )
    }

    /// Reading the body failed on `cause` (the client went away, a malformed chunk), kept as the source.
    pub(crate) fn body_read(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let cause = cause.into();
        Self::new(ErrorKind::BodyRead, format!("could not read the request body: {cause}")).caused_by(cause)
    }

    /// The body cannot be read here, for a reason of the program's (`why`), not of an error.
    pub(crate) fn body_unavailable(why: &str) -> Self {
        Self::new(ErrorKind::BodyRead, format!("could not read the request body: {why}"))
    }

    pub(crate) fn body_timeout(idle: std::time::Duration, whole: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::BodyTimeout,
            format!(
                "the request body arrived too slowly (a pause over {idle:?}, or over {whole:?} in all); \
                 raise HttpServerConfiguration::body_idle_timeout or body_read_timeout to wait longer"
            ),
        )
    }

    pub(crate) fn too_many_event_sources(maximum: usize) -> Self {
        Self::new(
            ErrorKind::TooManyEventSources,
            format!(
                "the server already has {maximum} event streams open, its maximum; the client may retry \
                 later, or raise HttpServerConfiguration::maximum_event_sources"
            ),
        )
    }

    pub(crate) fn route_collision(new: &str, existing: &str) -> Self {
        Self::new(
            ErrorKind::RouteCollision,
            format!(
                "route {new} collides with route {existing}: both would answer the same requests; \
                 change the path or method of one of them"
            ),
        )
    }

    pub(crate) fn invalid_route_path(path: &str, why: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = format!("invalid route path `{path}`: {why}");
        Error { cause: Some(Arc::new(why)), ..Self::new(ErrorKind::InvalidRoutePath, message) }
    }

    pub(crate) fn controller_needs_instance(controller: &str, methods: &[&str]) -> Self {
        Self::new(
            ErrorKind::ControllerNeedsInstance,
            format!(
                "controller `{controller}` has routes on `&self` ({}): hand the router an instance with \
                 `r.set_object({controller} {{ … }})` instead of `set_object_type::<{controller}>()`",
                methods.join(", ")
            ),
        )
    }

    /// An append that fewer replicas than asked acknowledged in time.
    #[cfg(feature = "redis")]
    pub(crate) fn not_replicated(
        id: &crate::http::streams::EventId,
        acknowledged: usize,
        asked: usize,
        within: std::time::Duration,
    ) -> Self {
        Self::new(
            ErrorKind::NotReplicated,
            format!(
                "the event {id} is in the log, but only {acknowledged} of the {asked} replicas asked for had it within \
                 {within:?}: it may reach every client, and a failover now could lose it"
            ),
        )
    }

    /// A log setting that cannot be used, and why.
    #[cfg(feature = "logging")]
    pub(crate) fn invalid_log_configuration(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidLogConfiguration, format!("invalid log configuration: {what}"))
    }

    pub(crate) fn invalid_listening_port(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidListeningPort,
            format!("invalid listening port: {what}; write it like \"http://localhost:5000/\""),
        )
    }

    pub(crate) fn listening_port_variable(variable: &str, value: &str, cause: Error) -> Self {
        let message =
            format!("the environment variable {variable} holds {value:?}, which is not a listening port: {cause}");
        Error { cause: Some(Arc::new(cause)), ..Self::new(ErrorKind::InvalidListeningPort, message) }
    }

    pub(crate) fn audience_not_portable() -> Self {
        Self::new(
            ErrorKind::AudienceNotPortable,
            "an audience given by a predicate cannot be stored in a shared log, where other nodes would \
             have to run it; publish through the collection (which turns it into the identifiers it accepts), \
             or use a prefix or an identifier",
        )
    }

    pub(crate) fn broker_unavailable(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::BrokerUnavailable,
            format!("the event could not be published: {what}; it was not sent to anyone, so retry it later"),
        )
    }

    /// The broker may have taken the event: it was sent, and the answer never came.
    #[cfg(feature = "redis")]
    pub(crate) fn broker_unanswered(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::BrokerUnavailable,
            format!(
                "the event was sent to the shared log but its answer never came: {what}; it may reach its \
                 audience, and publishing it again may deliver it twice"
            ),
        )
    }

    #[cfg(feature = "redis")]
    pub(crate) fn cluster_unreachable(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::BrokerUnavailable, format!("the cluster could not be queried: {what}"))
    }

    #[cfg(feature = "redis")]
    pub(crate) fn records_unreachable(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::BrokerUnavailable,
            format!("the shared records could not be reached: {what}; nothing was changed, so retry it later"),
        )
    }

    pub(crate) fn io(context: &str, cause: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {cause}")).caused_by(cause)
    }

    pub(crate) fn invalid_parameter(name: &str, type_name: &str, why: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidParameter,
            format!("the route parameter `{name}` is not a valid {type_name}: {why}"),
        )
    }

    pub(crate) fn unknown_parameter(name: &str, known: &[&str]) -> Self {
        Self::new(
            ErrorKind::UnknownParameter,
            format!(
                "the route has no parameter `{name}` (it has: {}); use a name written as `<{name}>` in its path",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ),
        )
    }

    pub(crate) fn response_stream_already_open() -> Self {
        Self::new(
            ErrorKind::ResponseStreamAlreadyOpen,
            "this request already streams its response (get_response_stream or get_event_source was called); \
             keep the first handle (it is a cheap clonable handle) instead of asking for another",
        )
    }

    pub(crate) fn response_stream_started(what: &str) -> Self {
        Self::new(
            ErrorKind::HeadersAlreadySent,
            format!(
                "cannot {what}: the response stream's head was already sent with the first write; \
                 set the status, headers and content length before the first write"
            ),
        )
    }

    pub(crate) fn content_length_exceeded(declared: u64, written: u64, more: usize) -> Self {
        Self::new(
            ErrorKind::ContentLengthMismatch,
            format!(
                "cannot write {more} more bytes: the response stream declared a content length of {declared} \
                 and {written} are already written; declare the right length with set_content_length, or \
                 leave it out to send the body chunked"
            ),
        )
    }

    pub(crate) fn content_length_unmet(declared: u64, written: u64) -> Self {
        Self::new(
            ErrorKind::ContentLengthMismatch,
            format!(
                "the response stream declared a content length of {declared} but only {written} bytes were \
                 written, so the response was cut short; write them all before close, or leave the length \
                 out to send the body chunked"
            ),
        )
    }

    pub(crate) fn response_stream_closed() -> Self {
        Self::new(
            ErrorKind::ResponseStreamClosed,
            "the response stream is closed (the client went away, the server is stopping, or close was \
             called); stop producing the body",
        )
    }

    #[cfg(feature = "tls")]
    pub(crate) fn invalid_certificate(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidCertificate,
            format!(
                "invalid TLS certificate: {what}; give a PEM certificate chain (leaf first) and its private key \
                 (PKCS #8, PKCS #1 or SEC1), or DevelopmentCertificate::generate() for localhost"
            ),
        )
    }

    pub(crate) fn unsupported_media_type(expected: &str, found: Option<&str>) -> Self {
        let found = found.map_or_else(|| "no Content-Type".to_owned(), |found| format!("Content-Type {found:?}"));
        Self::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "this endpoint reads {expected} bodies, but the request has {found}; send `Content-Type: {expected}`"
            ),
        )
    }

    #[cfg(feature = "json")]
    pub(crate) fn invalid_json(cause: serde_json::Error) -> Self {
        let message = match cause.classify() {
            serde_json::error::Category::Data => {
                format!("the JSON request body is not what this endpoint expects: {cause}")
            }
            _ => format!("the request body is not valid JSON: {cause}"),
        };
        Self::new(ErrorKind::InvalidContent, message).caused_by(cause)
    }

    pub(crate) fn missing_value(name: &str) -> Self {
        Self::new(ErrorKind::InvalidContent, format!("`{name}` is required, and the request has no value for it"))
    }

    pub(crate) fn invalid_value(name: &str, expected: &str, cause: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidContent, format!("the value of `{name}` is not {expected}: {cause}"))
    }

    #[cfg(feature = "multipart")]
    pub(crate) fn invalid_multipart(cause: impl fmt::Display) -> Self {
        Self::new(ErrorKind::InvalidContent, format!("the multipart/form-data body is malformed: {cause}"))
    }

    pub(crate) fn too_many_form_fields(maximum: usize) -> Self {
        Self::form_limit_exceeded(format!("the form has more than {maximum} fields"), "maximum_form_fields")
    }

    pub(crate) fn form_limit_exceeded(what: impl fmt::Display, setting: &str) -> Self {
        Self::new(
            ErrorKind::FormLimitExceeded,
            format!("{what}; raise HttpServerConfiguration::{setting} to accept it"),
        )
    }

    pub(crate) fn invalid_trusted_proxy(text: &str) -> Self {
        Self::new(
            ErrorKind::InvalidTrustedProxy,
            format!(
                "{text:?} is not a trusted proxy address: write an IP address (\"10.0.0.1\", \"::1\") or a network \
                 in CIDR notation (\"10.0.0.0/8\", \"fd00::/8\")"
            ),
        )
    }

    /// A tool's or prompt's argument is missing or not of its type.
    #[cfg(feature = "mcp")]
    pub(crate) fn invalid_argument(name: &str, why: &str) -> Self {
        Self::new(ErrorKind::InvalidContent, format!("the argument {name:?} is missing or not of its type: {why}"))
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn invalid_schema(why: String) -> Self {
        Self::new(ErrorKind::McpMisuse, format!("not a JSON Schema: {why}"))
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn mcp_provider_missing() -> Self {
        Self::new(
            ErrorKind::McpMisuse,
            "handle_mcp_request found no MCP provider: set one with HttpServer::create_builder().use_mcp(|mcp| …), \
             or call handle_request on a McpProvider of your own",
        )
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn mcp_client_cannot(capability: &str, method: &str) -> Self {
        Self::new(
            ErrorKind::McpMisuse,
            format!(
                "the client did not declare the {capability} capability at initialize, so it cannot be sent {method}"
            ),
        )
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn mcp_weak_state_key(length: usize, minimum: usize) -> Self {
        Self::new(
            ErrorKind::McpMisuse,
            format!("a requestState key of {length} bytes is too short: give at least {minimum} random bytes"),
        )
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn mcp_stateless_request(method: &str) -> Self {
        Self::new(
            ErrorKind::McpMisuse,
            format!(
                "a stateless request (revision 2026-07-28) has no stream to send {method} on: return \
                 McpToolResult::input_required(McpInputRequired::new()…) and read the answer from context.input()"
            ),
        )
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn mcp_client_request_failed(method: &str, why: &str) -> Self {
        Self::new(ErrorKind::McpClientRequest, format!("{method} to the client failed: {why}"))
    }

    /// A failure of something a handler called (a file, a database, a parser), answered `500`: the client
    /// gets the bare status, the log gets the cause, which [`source`](std::error::Error::source) keeps.
    /// [`ResultExt::or_internal_error`](crate::ResultExt::or_internal_error) makes one from any error,
    /// for `?`.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = format!("internal error: {cause}");
        Error { cause: Some(Arc::new(cause)), ..Self::new(ErrorKind::Internal, message) }
    }

    /// An error that answers the request with `status` (kind [`ErrorKind::Response`]).
    ///
    /// Below 500 (a `400`, a `404`, …) `message` is the response's plain-text body. A server error
    /// (`5xx`) answers with the bare status and no body, as every `Error` with a `5xx` status does, so no
    /// internal detail reaches the client; `message` goes to the log (`tracing::error!`). Nothing else is
    /// added: a `503` made here carries no `Retry-After` header. The one exception is a `503` answered to a request for
    /// an event stream (`Accept: text/event-stream`) before its stream began: since an `EventSource` never
    /// retries a `503`, it becomes a `200` event stream that a browser retries, with `Retry-After` and a
    /// `retry:` field of
    /// [`event_source_error_retry`](crate::http::HttpServerConfiguration::event_source_error_retry).
    /// For a body or headers of your own on any status (a `Retry-After` of your choice, say), return an
    /// [`HttpResponse`](crate::http::HttpResponse) (`HttpResponse::from_status(status)` with
    /// `with_content` and `with_header`) instead of an error.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// async fn find_user(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    ///     let id = req.route_parameter("id")
    ///         .ok_or_else(|| sisk::Error::with_status(StatusCode::BAD_REQUEST, "missing id"))?;
    ///     Ok(HttpResponse::new().with_content(format!("user {id}")))
    /// }
    /// ```
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Error { status: Some(status), ..Self::new(ErrorKind::Response, message) }
    }

    /// Gathers mistakes found together: the first, carrying the others (see [`Error::related`]), or
    /// `None` when there are none.
    pub(crate) fn gather(errors: Vec<Error>) -> Option<Self> {
        let mut errors = errors.into_iter();
        let mut first = errors.next()?;
        first.related.extend(errors);
        Some(first)
    }

    /// What the error is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status of the response this error becomes when a handler returns it, or `None` for the
    /// mistakes found while building the server ([`ErrorKind::is_build_time`]), which answer no request.
    /// A handler that returns one anyway answers `500`, as for any error without a status of its own.
    pub fn status_code(&self) -> Option<StatusCode> {
        Some(match self.kind {
            _ if self.kind.is_build_time() => return None,
            ErrorKind::Response => self.status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ErrorKind::ContentTooLarge | ErrorKind::FormLimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::BodyRead
            | ErrorKind::InvalidIdentifier
            | ErrorKind::InvalidParameter
            | ErrorKind::InvalidContent
            | ErrorKind::InvalidHandshake => StatusCode::BAD_REQUEST,
            ErrorKind::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::IdentifierInUse => StatusCode::CONFLICT,
            ErrorKind::BrokerUnavailable | ErrorKind::TooManyEventSources | ErrorKind::NotReplicated => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        })
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The further mistakes found together with this one, each an error of its own: the server builder's
    /// `build()` reports every route that cannot be added at once, not only the first.
    pub fn related(&self) -> &[Error] {
        &self.related
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("Error")
                .field("kind", &self.kind)
                .field("message", &self.message)
                .field("status", &self.status)
                .field("cause", &self.cause)
                .field("related", &self.related)
                .finish();
        }
        write!(f, "{} ({:?})", self.message, self.kind)?;
        for other in &self.related {
            write!(f, "\n  and: {other:?}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match self.related.len() {
            0 => Ok(()),
            n => write!(
                f,
                " (and {n} more: {})",
                self.related.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

/// Lets `?` take any error into a handler that returns `Result<_, sisk::Error>`: the orphan rule keeps
/// you from writing `From<TheirError> for sisk::Error`, and a blanket one would clash with the standard
/// library's own.
///
/// ```
/// use sisk::prelude::*;
///
/// async fn config(_req: HttpRequest) -> Result<String, sisk::Error> {
///     let text = std::fs::read_to_string("/no/such/file").or_internal_error()?; // a 500, cause logged
///     Ok(text)
/// }
/// ```
pub trait ResultExt<T> {
    /// The error, if any, as [`Error::internal`]: a `500` whose cause is logged, not sent.
    fn or_internal_error(self) -> Result<T, Error>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> ResultExt<T> for Result<T, E> {
    fn or_internal_error(self) -> Result<T, Error> {
        self.map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_kind() {
        let status = |e: Error| e.status_code();
        assert_eq!(status(Error::content_too_large(10)), Some(StatusCode::PAYLOAD_TOO_LARGE));
        assert_eq!(status(Error::body_unavailable("it was streamed")), Some(StatusCode::BAD_REQUEST));
        assert_eq!(status(Error::headers_already_sent("X")), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(status(Error::too_many_event_sources(10)), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(status(Error::with_status(StatusCode::IM_A_TEAPOT, "tea")), Some(StatusCode::IM_A_TEAPOT));
    }

    #[test]
    fn build_time_mistakes_have_no_status() {
        for e in [
            Error::route_collision("`GET /a`", "`GET /a/`"),
            Error::invalid_route_path("a", sisk_route_syntax::parse("a").unwrap_err()),
            Error::controller_needs_instance("Users", &["list"]),
            Error::invalid_listening_port("no port"),
        ] {
            assert!(e.kind().is_build_time(), "{e}");
            assert_eq!(e.status_code(), None, "{e}");
        }
    }

    #[test]
    fn an_internal_error_is_a_500_that_keeps_its_cause() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml is missing");
        let e = Err::<(), _>(io).or_internal_error().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.status_code(), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(e.source().map(|cause| cause.to_string()).as_deref(), Some("config.toml is missing"));
    }

    /// Every constructor that wraps an error keeps it as `source()`: a bind failure still says
    /// `AddrInUse` to a program that asks.
    #[test]
    fn errors_made_from_errors_keep_them_as_their_source() {
        use std::error::Error as _;
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = crate::http::HttpServer::create_builder()
            .use_listening_port(format!("http://127.0.0.1:{port}/"))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        let cause = err.source().and_then(|cause| cause.downcast_ref::<std::io::Error>()).expect("the io::Error");
        assert_eq!(cause.kind(), std::io::ErrorKind::AddrInUse);

        #[cfg(feature = "json")]
        {
            let json = Error::invalid_json(serde_json::from_str::<u8>("{").unwrap_err());
            assert!(json.source().is_some_and(|cause| cause.is::<serde_json::Error>()), "{json}");
        }
        let read = Error::body_read(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert!(read.source().is_some_and(|cause| cause.is::<std::io::Error>()));
        let broker =
            Error::broker_unavailable("Redis").caused_by(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(broker.source().is_some_and(|cause| cause.is::<std::io::Error>()));
    }

    #[test]
    fn what_main_prints_leads_with_the_message() {
        let e = Error::invalid_listening_port("no port in \"http://localhost/\"");
        let printed = format!("{e:?}");
        assert!(printed.starts_with("invalid listening port: no port"), "{printed}");
        assert!(format!("{e:#?}").contains("kind: InvalidListeningPort"));
    }

    #[test]
    fn gathered_mistakes_keep_every_one() {
        assert!(Error::gather(Vec::new()).is_none());
        let e = Error::gather(vec![
            Error::route_collision("`GET /a`", "`GET /a/`"),
            Error::invalid_route_path("b", sisk_route_syntax::parse("b").unwrap_err()),
        ])
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::RouteCollision);
        assert_eq!(e.related().iter().map(Error::kind).collect::<Vec<_>>(), [ErrorKind::InvalidRoutePath]);
        assert!(e.to_string().contains("and 1 more") && format!("{e:?}").contains("InvalidRoutePath"));
    }
}
