//! The one error type of the crate.
//!
//! [`Error`] is a closed struct: its kind is private and callers ask about it through the `is_*` methods,
//! so new kinds can be added without breaking anyone. Every message says what went wrong *and* what to do.
//! A handler may return `Result<T, sisk::Error>`; the error then becomes a response whose status is
//! [`Error::status_code`] (500 unless the error says otherwise).

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

/// The error type of sisk: misuse of the API, invalid configuration, or a request the server refuses.
///
/// Its `Debug` form leads with the message, so `fn main() -> Result<(), sisk::Error>` that fails at
/// `build()` prints what went wrong and what to do (`{:#?}` shows the fields).
#[derive(Clone)]
pub struct Error {
    kind: Kind,
    message: String,
    /// The error this one was made from, kept for `source()` and the log (never sent to a client).
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Two errors are equal when their kind and message are; their causes are not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    HeadersAlreadySent,
    InvalidHeader,
    EventSourceAlreadyOpen,
    InvalidIdentifier,
    IdentifierInUse,
    ContentTooLarge,
    BodyRead,
    BodyTimeout,
    TooManyEventSources,
    RouteCollision,
    InvalidRoutePath,
    ControllerNeedsInstance,
    InvalidListeningPort,
    Io,
    Internal,
    AudienceNotPortable,
    BrokerUnavailable,
    InvalidCertificate,
    Response(StatusCode),
}

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), cause: None }
    }

    pub(crate) fn headers_already_sent(name: &str) -> Self {
        Self::new(
            Kind::HeadersAlreadySent,
            format!(
                "cannot append header `{name}`: the response head was already sent with the first message; \
                 call append_header before the first send, wait or close"
            ),
        )
    }

    pub(crate) fn invalid_header(what: impl fmt::Display) -> Self {
        Self::new(Kind::InvalidHeader, format!("invalid header: {what}"))
    }

    pub(crate) fn event_source_already_open() -> Self {
        Self::new(
            Kind::EventSourceAlreadyOpen,
            "get_event_source was already called on this request; keep the first HttpRequestEventSource \
             (it is a cheap clonable handle) instead of asking for a second one",
        )
    }

    pub(crate) fn invalid_identifier(identifier: &str) -> Self {
        Self::new(
            Kind::InvalidIdentifier,
            format!(
                "the event-source identifier {identifier:?} holds a control character; \
                 identifiers must be printable text (check or escape the input it is built from)"
            ),
        )
    }

    pub(crate) fn identifier_in_use(identifier: &str) -> Self {
        Self::new(
            Kind::IdentifierInUse,
            format!(
                "an event stream with the identifier {identifier:?} is already open, and the identifier policy \
                 rejects a second one; close the first, or choose IdentifierPolicy::AllowSeveral or Replace"
            ),
        )
    }

    pub(crate) fn content_too_large(limit: u64) -> Self {
        Self::new(
            Kind::ContentTooLarge,
            format!(
                "the request body is larger than the server accepts ({limit} bytes); \
                 raise HttpServerConfiguration::maximum_content_length to accept it"
            ),
        )
    }

    pub(crate) fn body_read(cause: impl fmt::Display) -> Self {
        Self::new(Kind::BodyRead, format!("could not read the request body: {cause}"))
    }

    pub(crate) fn body_timeout(idle: std::time::Duration, whole: std::time::Duration) -> Self {
        Self::new(
            Kind::BodyTimeout,
            format!(
                "the request body arrived too slowly (a pause over {idle:?}, or over {whole:?} in all); \
                 raise HttpServerConfiguration::body_idle_timeout or body_read_timeout to wait longer"
            ),
        )
    }

    pub(crate) fn too_many_event_sources(maximum: usize) -> Self {
        Self::new(
            Kind::TooManyEventSources,
            format!(
                "the server already has {maximum} event streams open, its maximum; the client may retry \
                 later, or raise HttpServerConfiguration::maximum_event_sources"
            ),
        )
    }

    pub(crate) fn route_collision(new: &str, existing: &str) -> Self {
        Self::new(
            Kind::RouteCollision,
            format!(
                "route {new} collides with route {existing}: both would answer the same requests; \
                 change the path or method of one of them"
            ),
        )
    }

    pub(crate) fn invalid_route_path(path: &str, why: impl fmt::Display) -> Self {
        Self::new(Kind::InvalidRoutePath, format!("invalid route path `{path}`: {why}"))
    }

    pub(crate) fn controller_needs_instance(controller: &str, methods: &[&str]) -> Self {
        Self::new(
            Kind::ControllerNeedsInstance,
            format!(
                "controller `{controller}` has routes on `&self` ({}): hand the router an instance with \
                 `r.set_object({controller} {{ … }})` instead of `set_object_type::<{controller}>()`",
                methods.join(", ")
            ),
        )
    }

    pub(crate) fn invalid_listening_port(what: impl fmt::Display) -> Self {
        Self::new(
            Kind::InvalidListeningPort,
            format!("invalid listening port: {what}; write it like \"http://localhost:5000/\""),
        )
    }

    pub(crate) fn audience_not_portable() -> Self {
        Self::new(
            Kind::AudienceNotPortable,
            "an audience given by a predicate cannot be stored in a shared log, where other nodes would \
             have to run it; publish through the collection (which turns it into the identifiers it accepts), \
             or use a prefix or an identifier",
        )
    }

    pub(crate) fn broker_unavailable(what: impl fmt::Display) -> Self {
        Self::new(
            Kind::BrokerUnavailable,
            format!("the event could not be published: {what}; it was not sent to anyone, so retry it later"),
        )
    }

    pub(crate) fn io(context: &str, cause: std::io::Error) -> Self {
        Self::new(Kind::Io, format!("{context}: {cause}"))
    }

    #[cfg(feature = "tls")]
    pub(crate) fn invalid_certificate(what: impl fmt::Display) -> Self {
        Self::new(
            Kind::InvalidCertificate,
            format!(
                "invalid TLS certificate: {what}; give a PEM certificate chain (leaf first) and its private key \
                 (PKCS #8, PKCS #1 or SEC1), or DevelopmentCertificate::generate() for localhost"
            ),
        )
    }

    /// A failure of something a handler called (a file, a database, a parser), answered `500`: the client
    /// gets the bare status, the log gets the cause, which [`source`](std::error::Error::source) keeps.
    /// [`ResultExt::or_internal_error`](crate::ResultExt::or_internal_error) makes one from any error,
    /// for `?`.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = format!("internal error: {cause}");
        Error { kind: Kind::Internal, message, cause: Some(Arc::new(cause)) }
    }

    /// An error that answers the request with `status` and `message` as its plain-text body.
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
        Self::new(Kind::Response(status), message)
    }

    /// The status of the response this error becomes when a handler returns it.
    pub fn status_code(&self) -> StatusCode {
        match self.kind {
            Kind::ContentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::BodyRead => StatusCode::BAD_REQUEST,
            Kind::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::InvalidIdentifier => StatusCode::BAD_REQUEST,
            Kind::IdentifierInUse => StatusCode::CONFLICT,
            Kind::BrokerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::TooManyEventSources => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Response(status) => status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when a header was appended to an event source after its head was sent.
    pub fn is_headers_already_sent(&self) -> bool {
        self.kind == Kind::HeadersAlreadySent
    }

    /// True when a header name or value was not valid (for example a value with CR or LF).
    pub fn is_invalid_header(&self) -> bool {
        self.kind == Kind::InvalidHeader
    }

    /// True when `get_event_source` was called twice on one request.
    pub fn is_event_source_already_open(&self) -> bool {
        self.kind == Kind::EventSourceAlreadyOpen
    }

    /// True when an event-source identifier held a control character.
    pub fn is_invalid_identifier(&self) -> bool {
        self.kind == Kind::InvalidIdentifier
    }

    /// True when an event stream was refused because its identifier is in use
    /// ([`IdentifierPolicy::RejectNew`](crate::http::streams::IdentifierPolicy::RejectNew)).
    pub fn is_identifier_in_use(&self) -> bool {
        self.kind == Kind::IdentifierInUse
    }

    /// True when a request body was over the configured maximum content length.
    pub fn is_content_too_large(&self) -> bool {
        self.kind == Kind::ContentTooLarge
    }

    /// True when reading a request body failed (the client went away, or sent a malformed body).
    pub fn is_body_read(&self) -> bool {
        self.kind == Kind::BodyRead
    }

    /// True when a request body paused too long, or took too long in all.
    pub fn is_body_timeout(&self) -> bool {
        self.kind == Kind::BodyTimeout
    }

    /// True when an event stream was refused because the server has
    /// [`maximum_event_sources`](crate::http::HttpServerConfiguration::maximum_event_sources) open.
    pub fn is_too_many_event_sources(&self) -> bool {
        self.kind == Kind::TooManyEventSources
    }

    /// True when two routes would answer the same requests.
    pub fn is_route_collision(&self) -> bool {
        self.kind == Kind::RouteCollision
    }

    /// True when a route path is not valid.
    pub fn is_invalid_route_path(&self) -> bool {
        self.kind == Kind::InvalidRoutePath
    }

    /// True when a controller with routes on `&self` was added by type, without an instance.
    pub fn is_controller_needs_instance(&self) -> bool {
        self.kind == Kind::ControllerNeedsInstance
    }

    /// True when a listening port could not be parsed, or its scheme (`http://`, `https://`) does not
    /// agree with the certificate given to the builder (or not given).
    pub fn is_invalid_listening_port(&self) -> bool {
        self.kind == Kind::InvalidListeningPort
    }

    /// True when an operating-system call failed (for example binding the listening port).
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// True when an event could not be published because the backplane's broker is unreachable or its
    /// outbox is full.
    pub fn is_broker_unavailable(&self) -> bool {
        self.kind == Kind::BrokerUnavailable
    }

    /// True when an entry meant for a predicate was handed to a backplane directly (the collection turns
    /// a predicate into the identifiers it accepts first).
    pub fn is_audience_not_portable(&self) -> bool {
        self.kind == Kind::AudienceNotPortable
    }

    /// True when a TLS certificate or its key could not be read or used.
    pub fn is_invalid_certificate(&self) -> bool {
        self.kind == Kind::InvalidCertificate
    }

    /// True when the error was made with [`Error::internal`] (or `or_internal_error`).
    pub fn is_internal(&self) -> bool {
        self.kind == Kind::Internal
    }

    /// True when the error was made with [`Error::with_status`].
    pub fn is_response(&self) -> bool {
        matches!(self.kind, Kind::Response(_))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.debug_struct("Error").field("kind", &self.kind).field("message", &self.message).finish();
        }
        write!(f, "{} ({:?})", self.message, self.kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
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
        assert_eq!(Error::content_too_large(10).status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(Error::body_read("eof").status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(Error::headers_already_sent("X").status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(Error::too_many_event_sources(10).status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(Error::with_status(StatusCode::IM_A_TEAPOT, "tea").status_code(), StatusCode::IM_A_TEAPOT);
    }

    #[test]
    fn an_internal_error_is_a_500_that_keeps_its_cause() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml is missing");
        let e = Err::<(), _>(io).or_internal_error().unwrap_err();
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.source().map(|cause| cause.to_string()).as_deref(), Some("config.toml is missing"));
    }

    #[test]
    fn what_main_prints_leads_with_the_message() {
        let e = Error::invalid_listening_port("no port in \"http://localhost/\"");
        let printed = format!("{e:?}");
        assert!(printed.starts_with("invalid listening port: no port"), "{printed}");
        assert!(format!("{e:#?}").contains("kind: InvalidListeningPort"));
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::headers_already_sent("X-Key");
        assert!(e.is_headers_already_sent());
        assert!(e.to_string().contains("before the first send"));
        let e = Error::route_collision("GET /a", "GET /a/");
        assert!(e.to_string().contains("GET /a/") && e.is_route_collision());
    }
}
