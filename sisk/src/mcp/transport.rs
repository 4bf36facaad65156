//! Streamable HTTP, the transport of revisions 2025-03-26 to 2025-11-25 (a POST of revision
//! 2026-07-28, which has no session, goes to `stateless`): `POST` carries one JSON-RPC
//! message and is answered with JSON or with an event stream; `GET` opens the session's stream for what
//! the server sends on its own, or resumes a stream from `Last-Event-ID`; `DELETE` ends the session.
//!
//! Every stream is a stream of the server's event log, under an identifier of the framework's own
//! (`mcp/<session>/<n>` behind [`INTERNAL_MARK`](crate::http::streams::INTERNAL_MARK)): its first event
//! is a priming event (an id and a `retry`), every message it carries is published for it, so the id a
//! client holds always names an entry of its own stream, and a resume replays that stream only.

use http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::http::streams::LocalEventSource;
use crate::http::{HttpContent, HttpRequest, HttpResponse};
use crate::mcp::context::{CallContext, Caller};
use crate::mcp::input::McpInput;
use crate::mcp::json_rpc::{self, Incoming, RpcError, TRANSPORT_ERROR};
use crate::mcp::provider::{DEFAULT_PROTOCOL_VERSION, PROTOCOL_VERSIONS};
use crate::mcp::session::{RequestStream, Resumable, Session, SessionLookup};
use crate::mcp::stateless;
use crate::mcp::McpProvider;
use crate::sync::lock;

/// The session header.
const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol version header.
const VERSION_HEADER: &str = "mcp-protocol-version";
/// "Session not found", as the SDKs answer it.
const SESSION_NOT_FOUND: i64 = -32001;

/// A request the transport refuses: an HTTP status, and a JSON-RPC error as the body.
struct Refusal {
    status: StatusCode,
    error: RpcError,
}

fn refuse(status: StatusCode, code: i64, message: impl Into<String>) -> Refusal {
    Refusal { status, error: RpcError::new(code, message) }
}

impl From<Refusal> for HttpResponse {
    fn from(refusal: Refusal) -> Self {
        let body = json_rpc::response(&Value::Null, Err(refusal.error));
        HttpResponse::from_status(refusal.status).with_content(HttpContent::json(body.to_string()))
    }
}

fn json_answer(body: &Value, session: Option<&str>) -> HttpResponse {
    let response = HttpResponse::from_status(StatusCode::OK).with_content(HttpContent::json(body.to_string()));
    match session {
        Some(id) => response.with_header(SESSION_HEADER, id),
        None => response,
    }
}

/// True when the `Accept` headers take `media` (no header takes everything).
fn accepts(request: &HttpRequest, media: &str) -> bool {
    let mut values = request.headers().get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let ranges = values.filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(','));
    ranges.map(|part| part.split(';').next().unwrap_or("").trim()).any(|range| {
        range.eq_ignore_ascii_case(media) || range == "*/*" || range.eq_ignore_ascii_case(&format!("{kind}/*"))
    })
}

/// The host part of a `Host` header or of an origin's authority, lowercased, without the port.
fn hostname(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().map(|h| format!("[{h}]")).unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default().to_owned()
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.ends_with(".localhost")
}

impl McpProvider {
    /// Refuses a request that may come through DNS rebinding: a loopback client naming a `Host` that is
    /// not a loopback name, or an `Origin` that is neither a loopback origin nor one of
    /// [`allowed_origins`](Self::allowed_origins).
    fn check_origin(&self, request: &HttpRequest) -> Result<(), Refusal> {
        let loopback_client = request.remote_address().ip().to_canonical().is_loopback();
        if loopback_client {
            // The authority the client named: `Host`, or an HTTP/2 request's `:authority`.
            let named = request.header("host").or_else(|| request.uri().authority().map(|a| a.as_str()));
            if let Some(host) = named {
                let allowed_host = |origin: &String| {
                    origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
                };
                if !is_loopback_name(&hostname(host)) && !self.allowed_origins.iter().any(allowed_host) {
                    return Err(refuse(
                        StatusCode::FORBIDDEN,
                        TRANSPORT_ERROR,
                        format!("Host {host:?} is not allowed"),
                    ));
                }
            }
        }
        if let Some(origin) = request.header("origin") {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            let allowed = self.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
                || (loopback_client && is_loopback_name(&hostname(authority)));
            if !allowed {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    TRANSPORT_ERROR,
                    format!("Origin {origin:?} is not allowed"),
                ));
            }
        }
        Ok(())
    }

    /// Serves one request to the MCP endpoint (Sisk's `McpProvider.HandleRequestAsync`); the route
    /// must take `GET`, `POST` and `DELETE` (`router.map_any`).
    ///
    /// ```
    /// use sisk::prelude::*;
    /// use sisk::mcp::McpProvider;
    ///
    /// let math_provider = McpProvider::new("math-server", "Mathematics server", "1.0");
    ///
    /// let mut router = Router::new();
    /// router.map_any("/mcp/math", move |request: HttpRequest| {
    ///     let math_provider = math_provider.clone();
    ///     async move { math_provider.handle_request(&request).await }
    /// });
    /// ```
    pub async fn handle_request(&self, request: &HttpRequest) -> HttpResponse {
        if let Err(refused) = self.check_origin(request) {
            return refused.into();
        }
        match *request.method() {
            Method::POST => self.post(request).await,
            Method::GET => self.get(request).await,
            Method::DELETE => self.delete(request).await,
            _ => HttpResponse::from_status(StatusCode::METHOD_NOT_ALLOWED)
                .with_header(header::ALLOW, "GET, POST, DELETE"),
        }
    }

    /// The session the request names: `400` without `Mcp-Session-Id`, `404` for one unknown or ended.
    async fn session_of(&self, request: &HttpRequest) -> Result<std::sync::Arc<Session>, Refusal> {
        let Some(id) = request.header(SESSION_HEADER) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                "Bad Request: Mcp-Session-Id header is required",
            ));
        };
        if let Some(version) = request.header(VERSION_HEADER) {
            if !PROTOCOL_VERSIONS.contains(&version) {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    TRANSPORT_ERROR,
                    format!(
                        "Bad Request: unsupported MCP-Protocol-Version {version:?} (supported: {})",
                        PROTOCOL_VERSIONS.join(", ")
                    ),
                ));
            }
        }
        self.sessions.listen(request.server(), &self.server_name);
        let found = self.sessions.get(request.server(), &self.server_name, id, self.session_idle_timeout).await;
        found.map_err(|lookup| match lookup {
            SessionLookup::Unknown => refuse(StatusCode::NOT_FOUND, SESSION_NOT_FOUND, "Session not found"),
            SessionLookup::Unreachable(error) => unreachable_records(&error),
        })
    }

    async fn post(&self, request: &HttpRequest) -> HttpResponse {
        if !accepts(request, "application/json") || !accepts(request, "text/event-stream") {
            return refuse(
                StatusCode::NOT_ACCEPTABLE,
                TRANSPORT_ERROR,
                "Not Acceptable: the client must accept both application/json and text/event-stream",
            )
            .into();
        }
        let json_body = request
            .header("content-type")
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json"));
        if !json_body {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                TRANSPORT_ERROR,
                "Unsupported Media Type: send application/json",
            )
            .into();
        }
        let body = match request.body_bytes().await {
            Ok(body) => body,
            Err(error) => {
                let status = error.status_code().unwrap_or(StatusCode::BAD_REQUEST);
                return refuse(status, json_rpc::INVALID_REQUEST, error.message().to_owned()).into();
            }
        };
        if let Some(version) = request.header(VERSION_HEADER).map(str::trim).filter(|v| stateless::is_stateless(v)) {
            return self.serve_stateless(request, version, &body).await;
        }
        let message = match Incoming::parse(&body) {
            Ok(message) => message,
            Err((id, error)) => {
                let body = json_rpc::response(&id, Err(error));
                return HttpResponse::from_status(StatusCode::BAD_REQUEST)
                    .with_content(HttpContent::json(body.to_string()));
            }
        };
        if let Incoming::Request { id, method, params } = &message {
            if method == "initialize" {
                return self.initialize(request, id, params).await;
            }
        }
        let session = match self.session_of(request).await {
            Ok(session) => session,
            Err(refused) => return refused.into(),
        };
        match message {
            Incoming::Notification { method, params } => {
                if method == "notifications/cancelled" {
                    if let Some(id) = params.get("requestId") {
                        session.cancel_request(id);
                    }
                }
                HttpResponse::from_status(StatusCode::ACCEPTED)
            }
            Incoming::Response { id, outcome } => {
                if !session.answer(&id, outcome) {
                    tracing::debug!(session = session.id(), %id, "an answer to no request of the server's");
                }
                HttpResponse::from_status(StatusCode::ACCEPTED)
            }
            Incoming::Request { id, method, params } => self.request(request, session, id, method, params).await,
        }
    }

    async fn initialize(&self, request: &HttpRequest, id: &Value, params: &Value) -> HttpResponse {
        let asked = params.get("protocolVersion").and_then(Value::as_str).unwrap_or(DEFAULT_PROTOCOL_VERSION);
        let version = PROTOCOL_VERSIONS.iter().find(|v| **v == asked).copied().unwrap_or(PROTOCOL_VERSIONS[0]);
        let capabilities = params.get("capabilities").cloned().unwrap_or_else(|| json!({}));
        self.sessions.listen(request.server(), &self.server_name);
        let created = self
            .sessions
            .create(request.server(), &self.server_name, version.to_owned(), capabilities, self.session_idle_timeout)
            .await;
        let session = match created {
            Ok(session) => session,
            Err(error) if error.kind() == crate::ErrorKind::BrokerUnavailable => {
                return unreachable_records(&error).into()
            }
            Err(error) => {
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, json_rpc::INTERNAL_ERROR, error.message().to_owned())
                    .into()
            }
        };
        tracing::debug!(session = session.id(), version, "MCP session initialized");
        json_answer(&json_rpc::response(id, Ok(self.initialize_result(version))), Some(session.id()))
    }

    /// A request of a session: `tools/call` and `prompts/get` are answered on an event stream (what the
    /// handler sends while it runs, questions to the client included, goes there first), everything else
    /// with JSON.
    async fn request(
        &self,
        request: &HttpRequest,
        session: std::sync::Arc<Session>,
        id: Value,
        method: String,
        params: Value,
    ) -> HttpResponse {
        let progress_token = params.get("_meta").and_then(|meta| meta.get("progressToken")).cloned();
        let in_flight = session.begin_request(&id);
        // A tool, or a prompt that may ask the client something, is answered on a stream of its own,
        // where its questions go.
        let streamed = matches!(method.as_str(), "tools/call" | "prompts/get");
        let stream = streamed.then(|| session.new_request_stream());
        let call = CallContext {
            caller: Caller::Session(session.clone()),
            stream: stream.clone(),
            channel: None,
            progress_token,
            cancelled: in_flight.cancelled.clone(),
            request: request.clone(),
            input: McpInput::default(),
        };
        let Some(stream) = stream else {
            let outcome = self.answer(&method, params, call).await;
            drop(in_flight);
            return json_answer(&json_rpc::response(&id, outcome), Some(session.id()));
        };
        let source = match self.open_stream(request, &session, &stream.outbound.identifier().clone(), None) {
            Ok(source) => source,
            Err(refused) => return refused.into(),
        };
        *lock(&stream.disconnect) = Some(source.clone());
        stream.outbound.prime(self.stream_retry);
        let provider = self.clone();
        let running = stream.clone();
        tokio::spawn(async move {
            let cancelled = in_flight.cancelled.clone();
            let answered = tokio::select! {
                outcome = provider.answer(&method, params, call) => Some(outcome),
                () = cancelled.cancelled() => None,
            };
            match answered {
                Some(outcome) => {
                    running.outbound.finish(&json_rpc::response(&id, outcome)).await;
                }
                // Cancelled: no answer; the stream closes wherever it is followed.
                None => running.outbound.close_everywhere(),
            }
            drop(in_flight);
            running.done.cancel();
        });
        Self::carry(&source, &stream).await
    }

    /// Opens the event stream for `identifier` on this request, resumed from `cursor`, with the
    /// session's header.
    fn open_stream(
        &self,
        request: &HttpRequest,
        session: &Session,
        identifier: &str,
        cursor: Option<&str>,
    ) -> Result<LocalEventSource, Refusal> {
        let source = request.open_internal_event_source(identifier, cursor).map_err(|error| {
            refuse(
                error.status_code().unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                TRANSPORT_ERROR,
                error.message().to_owned(),
            )
        })?;
        if let Err(error) = source.append_header(SESSION_HEADER, session.id()) {
            tracing::warn!(%error, "the MCP session header could not be set");
        }
        Ok(source)
    }

    /// Keeps a request stream's connection until its request is answered (then it ends, what is queued
    /// sent first) or the connection goes (the request goes on; its client resumes).
    async fn carry(source: &LocalEventSource, stream: &RequestStream) -> HttpResponse {
        tokio::select! {
            () = stream.done.cancelled() => {}
            () = source.keep_alive() => {}
        }
        let mut carrying = lock(&stream.disconnect);
        if carrying.as_ref().is_some_and(|current| current.ptr_eq(source)) {
            carrying.take();
        }
        drop(carrying);
        source.close()
    }

    async fn get(&self, request: &HttpRequest) -> HttpResponse {
        if !accepts(request, "text/event-stream") {
            return refuse(
                StatusCode::NOT_ACCEPTABLE,
                TRANSPORT_ERROR,
                "Not Acceptable: the client must accept text/event-stream",
            )
            .into();
        }
        let session = match self.session_of(request).await {
            Ok(session) => session,
            Err(refused) => return refused.into(),
        };
        let cursor = request.last_event_id();
        let found = cursor.and_then(|cursor| request.server().event_sources().stream_at(cursor));
        let resumable = match &found {
            Some(identifier) => match session.stream_named(identifier) {
                Some(resumable) => resumable,
                None => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        TRANSPORT_ERROR,
                        "Bad Request: Last-Event-ID names a stream of another session",
                    )
                    .into()
                }
            },
            // No cursor, or one the log no longer holds (its window moved on): the GET stream, from now.
            None => {
                if cursor.is_some() {
                    tracing::debug!(
                        session = session.id(),
                        "a Last-Event-ID past the log's window; the GET stream starts anew"
                    );
                }
                let standalone = session.standalone();
                return match self.open_stream(request, &session, &standalone.identifier().clone(), None) {
                    Ok(source) => {
                        standalone.prime(self.stream_retry);
                        self.hold(&source, &session).await
                    }
                    Err(refused) => refused.into(),
                };
            }
        };
        match resumable {
            Resumable::Standalone(outbound) => {
                match self.open_stream(request, &session, &outbound.identifier().clone(), cursor) {
                    Ok(source) => self.hold(&source, &session).await,
                    Err(refused) => refused.into(),
                }
            }
            Resumable::Request(stream) => {
                match self.open_stream(request, &session, &stream.outbound.identifier().clone(), cursor) {
                    Ok(source) => {
                        *lock(&stream.disconnect) = Some(source.clone());
                        Self::carry(&source, &stream).await
                    }
                    Err(refused) => refused.into(),
                }
            }
            Resumable::Elsewhere(outbound) => {
                match self.open_stream(request, &session, &outbound.identifier().clone(), cursor) {
                    Ok(source) => self.hold(&source, &session).await,
                    Err(refused) => refused.into(),
                }
            }
        }
    }

    /// Keeps a stream open until its client leaves, the session ends, or (a request stream of
    /// another node's) its answer closes it; a comment every `stream_keep_alive` keeps proxies from
    /// closing it while nothing happens.
    async fn hold(&self, source: &LocalEventSource, session: &Session) -> HttpResponse {
        if let Some(interval) = self.stream_keep_alive.filter(|interval| !interval.is_zero()) {
            source.with_ping(|ping| ping.start_with("keep-alive", interval));
        }
        tokio::select! {
            () = source.keep_alive() => {}
            () = session.ended().cancelled() => {}
        }
        source.close()
    }

    async fn delete(&self, request: &HttpRequest) -> HttpResponse {
        let session = match self.session_of(request).await {
            Ok(session) => session,
            Err(refused) => return refused.into(),
        };
        match self.sessions.end(&session).await {
            Ok(_) => HttpResponse::from_status(StatusCode::OK),
            Err(error) => unreachable_records(&error).into(),
        }
    }
}

/// `503`: the sessions' records could not be reached.
fn unreachable_records(error: &crate::Error) -> Refusal {
    refuse(StatusCode::SERVICE_UNAVAILABLE, json_rpc::INTERNAL_ERROR, error.message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_read_without_their_port() {
        assert_eq!(hostname("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(hostname("[::1]:80"), "[::1]");
        assert_eq!(hostname("LocalHost"), "localhost");
        assert!(is_loopback_name("localhost") && is_loopback_name("[::1]") && !is_loopback_name("evil.example.com"));
    }
}
