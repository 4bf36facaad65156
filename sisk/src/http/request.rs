//! [`HttpRequest`]: what a client asked — method, path, query, headers, route parameters, body — and
//! the door to the server (`req.server()`), to Server-Sent Events (`req.get_event_source(…)`) and to a
//! response written as it goes (`req.get_response_stream()`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::{Bytes, BytesMut};
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};

use crate::engine::body_reader::BodyReader;
use crate::engine::limits::OpenSlot;
use crate::engine::request_body::RequestBody;
use crate::engine::transport::Transport;
use crate::http::head_slot::HeadSlot;
use crate::http::streams::{retry_after, retry_later, HttpResponseStream, LocalEventSource, RequestOutcome};
use crate::http::{Cookie, HttpResponse, HttpServer, QueryString, RequestBag};
use crate::sync::lock;
use crate::Error;

/// An HTTP request, as an action and request handlers see it.
///
/// It is a cheap handle (`Clone` shares it): request handlers, the action and tasks it spawns all see
/// the same request, the same [bag](HttpRequest::bag) and the same body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub(crate) head: Arc<RequestHead>,
    state: Arc<RequestState>,
}

/// The read-only part of a request, which an event source keeps after the request is gone.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    /// The client's address: the connection's peer, or what a trusted proxy said (see
    /// [`ForwardingResolver`](crate::http::ForwardingResolver)).
    pub(crate) remote_address: SocketAddr,
    /// Whether the client reached the server over TLS: the connection's, or what a trusted proxy said.
    is_secure: bool,
    /// The host a trusted proxy said the client asked for; `None` leaves it to the request itself.
    forwarded_host: Option<Authority>,
    /// The route's parameters: its shared names, the request's decoded values.
    pub(crate) route_parameters: Vec<(Arc<str>, String)>,
    pub(crate) server: HttpServer,
    /// Headers every response to this request carries (CORS), the event-stream head included.
    pub(crate) response_headers: HeaderMap,
    /// The stream or connection the request came on (to cut off an event-stream client that stopped
    /// reading, and to bound its socket's send buffer).
    pub(crate) transport: Transport,
    /// Where the head of the stream this request may become goes, for the pipeline.
    pub(crate) head_slot: HeadSlot,
    query: OnceLock<QueryString>,
}

#[derive(Debug)]
struct RequestState {
    body: Mutex<BodyState>,
    bag: RequestBag,
    stream: Mutex<StreamKind>,
    /// The stream's place among the server's open event streams, held until the request is over.
    event_stream_place: OnceLock<OpenSlot>,
    /// What upgrading the request to a WebSocket needs, when it asked for one on sisk's server.
    #[cfg(feature = "websockets")]
    upgradable: Mutex<Option<crate::http::websockets::handshake::Upgradable>>,
}

#[derive(Debug)]
enum BodyState {
    Unread(Option<RequestBody>),
    Reading,
    /// Read: the bytes, or the error the read ended with (a second call gets it again).
    Read(Result<Bytes, Error>),
}

/// Which stream this request became, if any: an event stream or a response stream.
#[derive(Debug)]
enum StreamKind {
    /// None yet; its head will reach the pipeline through the request head's [`HeadSlot`].
    NotYet,
    /// An event stream.
    EventStream(LocalEventSource),
    /// A response stream.
    ResponseStream(HttpResponseStream),
    /// A WebSocket.
    #[cfg(feature = "websockets")]
    WebSocket(crate::http::websockets::HttpWebSocket),
    /// It cannot be one (the request was built without a server connection).
    Unavailable,
}

/// The parts the server gathers to make a request.
#[derive(Debug)]
pub(crate) struct RequestParts {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Option<RequestBody>,
    pub(crate) remote_address: SocketAddr,
    /// The route's parameters: its shared names, the request's decoded values.
    pub(crate) route_parameters: Vec<(Arc<str>, String)>,
    pub(crate) server: HttpServer,
    pub(crate) response_headers: HeaderMap,
    pub(crate) transport: Transport,
    /// Whether a pipeline waits for a stream's head (a request made elsewhere cannot stream).
    pub(crate) may_stream: bool,
}

/// True when the client's `Accept` names `text/event-stream`, as every `EventSource` does.
fn asks_for_event_stream(headers: &HeaderMap) -> bool {
    const EVENT_STREAM: &[u8] = b"text/event-stream";
    headers.get_all(http::header::ACCEPT).iter().any(|accept| {
        accept.as_bytes().windows(EVENT_STREAM.len()).any(|window| window.eq_ignore_ascii_case(EVENT_STREAM))
    })
}

/// Copies the request target and the header values into one small allocation of their own.
///
/// hyper hands them over as slices of its connection's 8 KiB read buffer, and an event stream keeps its
/// request's head for as long as it stays open: without the copy, every open stream would pin that
/// buffer while hyper reads on into a new one (8 KiB more per stream). Only requests that ask for an
/// event stream are copied ([`asks_for_event_stream`]): for a small request the copy costs about 5 % of
/// the server's user-space CPU, and other requests do not outlive their response. (A stream opened
/// without that `Accept` still works; it just keeps the buffer.)
fn detach_from_read_buffer(uri: Uri, mut headers: HeaderMap) -> (Uri, HeaderMap) {
    // An origin-form target (`/path?query`, every HTTP/1.1 request but a proxy's) is copied; any other
    // form is kept as it is.
    let target = match (uri.authority(), uri.path_and_query()) {
        (None, Some(target)) => target.as_str(),
        _ => "",
    };
    let mut owned = BytesMut::with_capacity(target.len() + headers.values().map(HeaderValue::len).sum::<usize>());
    owned.extend_from_slice(target.as_bytes());
    for value in headers.values() {
        owned.extend_from_slice(value.as_bytes());
    }
    let owned = owned.freeze();
    let mut at = target.len();
    for value in headers.values_mut() {
        let copy = owned.slice(at..at + value.len());
        at += value.len();
        if let Ok(mut copy) = HeaderValue::from_maybe_shared(copy) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
    }
    let uri = if target.is_empty() { uri } else { Uri::from_maybe_shared(owned.slice(..target.len())).unwrap_or(uri) };
    (uri, headers)
}

impl HttpRequest {
    pub(crate) fn new(#[allow(unused_mut)] mut p: RequestParts) -> Self {
        #[cfg(feature = "websockets")]
        let upgradable = crate::http::websockets::handshake::take_upgradable(&mut p.parts.extensions);
        let (uri, headers) = if asks_for_event_stream(&p.parts.headers) {
            detach_from_read_buffer(p.parts.uri, p.parts.headers)
        } else {
            (p.parts.uri, p.parts.headers)
        };
        let forwarded = p
            .server
            .configuration()
            .forwarding_resolver
            .as_ref()
            .and_then(|resolver| resolver.resolve(p.remote_address, &headers))
            .unwrap_or_default();
        let head = RequestHead {
            method: p.parts.method,
            uri,
            version: p.parts.version,
            headers,
            remote_address: forwarded.client.unwrap_or(p.remote_address),
            is_secure: forwarded.secure.unwrap_or_else(|| p.transport.is_secure()),
            forwarded_host: forwarded.host,
            route_parameters: p.route_parameters,
            server: p.server,
            response_headers: p.response_headers,
            transport: p.transport,
            head_slot: HeadSlot::default(),
            query: OnceLock::new(),
        };
        let slot = if p.may_stream { StreamKind::NotYet } else { StreamKind::Unavailable };
        let state = RequestState {
            body: Mutex::new(BodyState::Unread(p.body)),
            bag: RequestBag::default(),
            stream: Mutex::new(slot),
            event_stream_place: OnceLock::new(),
            #[cfg(feature = "websockets")]
            upgradable: Mutex::new(upgradable),
        };
        HttpRequest { head: Arc::new(head), state: Arc::new(state) }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.head.method
    }

    /// The path as the client sent it (still percent-encoded), without the query.
    pub fn path(&self) -> &str {
        self.head.uri.path()
    }

    /// The request target: path and query (and scheme and authority for HTTP/2 or absolute-form requests).
    pub fn uri(&self) -> &Uri {
        &self.head.uri
    }

    /// The full URL the client asked for: `https` when [`is_secure`](Self::is_secure), the
    /// [`authority`](Self::authority) (`localhost` when the client named none), path and query.
    ///
    /// ```
    /// # use sisk::prelude::*;
    /// # async fn handler(req: HttpRequest) {
    /// // GET /user/login?email=foo@bar.com with Host: localhost:5000
    /// assert_eq!(req.full_url(), "http://localhost:5000/user/login?email=foo@bar.com");
    /// assert_eq!(req.authority(), Some("localhost:5000"));
    /// assert_eq!(req.host(), Some("localhost"));
    /// assert!(!req.is_secure());
    /// # }
    /// ```
    pub fn full_url(&self) -> String {
        let path_and_query = self.head.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let scheme = if self.is_secure() { "https" } else { "http" };
        format!("{scheme}://{}{path_and_query}", self.authority().unwrap_or("localhost"))
    }

    /// The host and port the client asked for (`localhost:5000`): from a trusted proxy's
    /// `X-Forwarded-Host` or `Forwarded: host=`, else the HTTP/2 `:authority` (or an absolute-form
    /// target), else the `Host` header. `None` when the client named none (an HTTP/1.0 client may not).
    pub fn authority(&self) -> Option<&str> {
        match &self.head.forwarded_host {
            Some(host) => Some(host.as_str()),
            None => self.head.uri.authority().map(Authority::as_str).or_else(|| self.header("host")),
        }
    }

    /// The host the client asked for, without the port (`localhost`; an IPv6 address keeps its brackets,
    /// `[::1]`). See [`authority`](Self::authority).
    pub fn host(&self) -> Option<&str> {
        let authority = self.authority()?;
        if let Some(end) = authority.starts_with('[').then(|| authority.find(']')).flatten() {
            return Some(&authority[..=end]);
        }
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => Some(host),
            _ => Some(authority),
        }
    }

    /// True when the client reached the server over TLS: the connection is HTTPS, or a trusted proxy
    /// says so (`X-Forwarded-Proto: https`, `Forwarded: proto=https`).
    pub fn is_secure(&self) -> bool {
        self.head.is_secure
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The decoded query string, parsed on first use.
    pub fn query(&self) -> &QueryString {
        self.head.query.get_or_init(|| QueryString::parse(self.head.uri.query().unwrap_or("")))
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The first value of a header, if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The cookies the client sent (percent-encoded values are decoded). A value a browser sent as raw
    /// UTF-8 is read too; a cookie that does not parse is skipped, and the others are kept.
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        self.head
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            // Not `to_str`, which refuses any byte past ASCII and would hide every cookie of the header.
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .flat_map(|v| Cookie::split_parse_encoded(v.to_owned()).filter_map(Result::ok))
            .map(Cookie::into_owned)
            .collect()
    }

    /// The value of one cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().into_iter().find(|c| c.name() == name).map(|c| c.value().to_owned())
    }

    /// A route parameter (`<name>` in the route path), percent-decoded.
    pub fn route_parameter(&self, name: &str) -> Option<&str> {
        self.head.route_parameters.iter().find(|(k, _)| **k == *name).map(|(_, v)| v.as_str())
    }

    /// A route parameter parsed as `T` (any [`FromStr`](std::str::FromStr) type: integers, `bool`,
    /// `uuid::Uuid`, `IpAddr`, …), as Sisk's `RouteParameters["id"].GetInteger()`. A value that does not
    /// parse is the client's mistake: an error answered `400` that says which parameter and why
    /// ([`ErrorKind::InvalidParameter`](crate::ErrorKind::InvalidParameter)). A name the route does not
    /// have is the program's: [`ErrorKind::UnknownParameter`](crate::ErrorKind::UnknownParameter), a `500`.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// async fn order(req: HttpRequest) -> Result<String, sisk::Error> {
    ///     let id: u64 = req.route_parameter_as("id")?; // `/orders/abc` answers 400
    ///     Ok(format!("order {id}"))
    /// }
    /// let mut r = Router::new();
    /// r += Route::get("/orders/<id>", order);
    /// ```
    pub fn route_parameter_as<T>(&self, name: &str) -> Result<T, Error>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let Some(value) = self.route_parameter(name) else {
            let known: Vec<&str> = self.route_parameters().map(|(known, _)| known).collect();
            return Err(Error::unknown_parameter(name, &known));
        };
        value.parse().map_err(|why| Error::invalid_parameter(name, std::any::type_name::<T>(), why))
    }

    /// Every route parameter, in path order.
    pub fn route_parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head.route_parameters.iter().map(|(k, v)| (&**k, v.as_str()))
    }

    /// The client's address. Behind trusted proxies (a [`ForwardingResolver`](crate::http::ForwardingResolver)
    /// in the configuration) it is the address they forwarded, with port 0 unless they gave one;
    /// otherwise the connection's peer.
    pub fn remote_address(&self) -> SocketAddr {
        self.head.remote_address
    }

    /// The server that received this request (a cheap handle: clone it to keep it).
    pub fn server(&self) -> &HttpServer {
        &self.head.server
    }

    /// The server's state of type `T`, given to the builder's
    /// [`use_state`](crate::http::HttpServerHostContextBuilder::use_state) (as
    /// [`HttpServer::state`]); `?` turns a missing one into a `500` whose log says how to give it.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.head.server.state()
    }

    /// Values that request handlers hand to the action.
    pub fn bag(&self) -> &RequestBag {
        &self.state.bag
    }

    /// The `Last-Event-ID` a reconnecting `EventSource` sends: the id of the last event it received.
    /// Without the header, the `last_event_id` query parameter (for a page that opens its first
    /// `EventSource` with a cursor it kept, as `new EventSource("/events?last_event_id=" + id)`); the
    /// header wins when both are present.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id").or_else(|| self.query().get("last_event_id"))
    }

    /// Reads the whole body, at most [`maximum_content_length`](crate::http::HttpServerConfiguration::maximum_content_length)
    /// bytes; more is an error whose response is `413` (nothing past the limit is buffered). A body that
    /// pauses longer than [`body_idle_timeout`](crate::http::HttpServerConfiguration::body_idle_timeout),
    /// or takes longer than [`body_read_timeout`](crate::http::HttpServerConfiguration::body_read_timeout)
    /// in all, is an error whose response is `408`. The outcome is kept, so a second call returns the same
    /// bytes, or the same error.
    pub async fn body_bytes(&self) -> Result<Bytes, Error> {
        let incoming = {
            let mut body = lock(&self.state.body);
            match &mut *body {
                BodyState::Read(result) => return result.clone(),
                BodyState::Reading => return Err(Error::body_unavailable("another task is reading it")),
                BodyState::Unread(incoming) => {
                    let incoming = incoming.take();
                    *body = BodyState::Reading;
                    incoming
                }
            }
        };
        let result = match incoming {
            None => Ok(Bytes::new()),
            Some(incoming) => BodyReader::new(incoming, self.head.server.configuration()).collect().await,
        };
        *lock(&self.state.body) = BodyState::Read(result.clone());
        result
    }

    /// True when the request has a body (a `Content-Length` above 0, a chunked body, HTTP/2 data), read
    /// or not.
    pub fn has_contents(&self) -> bool {
        match &*lock(&self.state.body) {
            BodyState::Unread(incoming) => incoming.as_ref().is_some_and(|body| !http_body::Body::is_end_stream(body)),
            BodyState::Reading => true,
            BodyState::Read(result) => result.as_ref().map_or(true, |bytes| !bytes.is_empty()),
        }
    }

    /// The body as it arrives, chunk by chunk, as Sisk's `GetRequestStream`: for a body too large to hold
    /// (an upload to pass on, a log to parse line by line). The same limits hold as for
    /// [`body_bytes`](Self::body_bytes): more than `maximum_content_length` bytes, a pause or a whole
    /// read too long, end the stream with the error (`413`, `408`). Once streamed, the body is gone: the
    /// whole-body getters then fail, saying so. A body already read comes from what was kept.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sisk::prelude::*;
    ///
    /// async fn count(req: HttpRequest) -> Result<String, sisk::Error> {
    ///     let mut body = req.get_request_stream()?;
    ///     let mut bytes = 0;
    ///     while let Some(chunk) = body.next().await {
    ///         bytes += chunk?.len(); // each chunk is dropped once counted
    ///     }
    ///     Ok(format!("{bytes} bytes"))
    /// }
    /// ```
    pub fn get_request_stream(
        &self,
    ) -> Result<impl futures_util::Stream<Item = Result<Bytes, Error>> + Send + 'static, Error> {
        self.body_stream("get_request_stream")
    }

    /// The body as a stream of chunks, for a reader that parses it as it arrives (`what` names it).
    /// A body still unread is handed over, and the whole-body getters then fail, saying so; one already
    /// read comes from what was kept, and one whose read failed gives that error again.
    pub(crate) fn body_stream(
        &self,
        what: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, Error>>, Error> {
        use futures_util::StreamExt;
        let mut body = lock(&self.state.body);
        match &mut *body {
            BodyState::Unread(incoming) => {
                let reader =
                    incoming.take().map(|incoming| BodyReader::new(incoming, self.head.server.configuration()));
                *body = BodyState::Read(Err(Error::body_unavailable(&format!("it was streamed by {what}"))));
                Ok(match reader {
                    Some(reader) => reader.into_stream().boxed(),
                    None => futures_util::stream::empty().boxed(),
                })
            }
            BodyState::Reading => Err(Error::body_unavailable("another task is reading it")),
            BodyState::Read(Ok(bytes)) => Ok(futures_util::stream::once(std::future::ready(Ok(bytes.clone()))).boxed()),
            BodyState::Read(Err(err)) => Err(err.clone()),
        }
    }

    /// Checks that the body's media type (`Content-Type` without its parameters) is one `accepts`
    /// (given in lower case); otherwise an error whose response is `415`, naming `expected`.
    pub(crate) fn require_media_type(&self, expected: &str, accepts: impl Fn(&str) -> bool) -> Result<(), Error> {
        let content_type = self.header("content-type");
        let media_type =
            content_type.map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match media_type {
            Some(media_type) if accepts(&media_type) => Ok(()),
            _ => Err(Error::unsupported_media_type(expected, content_type)),
        }
    }

    /// Reads the body as UTF-8 text (invalid sequences become U+FFFD).
    pub async fn body_string(&self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.body_bytes().await?).into_owned())
    }

    /// Turns this request into a Server-Sent Events stream and returns its source.
    ///
    /// On a `HEAD` request the source answers with the stream's head and no body, and is never
    /// registered: a probe cannot replace or stand beside a real connection with its identifier.
    ///
    /// With an identifier the connection is registered in
    /// [`server.event_sources()`](HttpServer::event_sources) while it is open. What happens to an open
    /// connection with the same identifier is the server's
    /// [`identifier_policy`](crate::http::HttpServerConfiguration::identifier_policy): by default
    /// ([`IdentifierPolicy::AllowSeveral`](crate::http::streams::IdentifierPolicy::AllowSeveral)) both stay
    /// open, publishing to the identifier reaches both and `get_by_identifier` gives the newest; with
    /// [`IdentifierPolicy::Replace`](crate::http::streams::IdentifierPolicy::Replace), Sisk's behaviour,
    /// the new one replaces (and closes) the old; with
    /// [`IdentifierPolicy::RejectNew`](crate::http::streams::IdentifierPolicy::RejectNew) the new one is
    /// refused (`409`, see below). Nothing is sent until the first message, wait or close, so headers can
    /// still be appended.
    ///
    /// An identifier may hold any text but control characters (CR, LF, NUL, …), which could otherwise
    /// reach log lines and headers: route parameters that decode to one are refused with `400` before the
    /// handler runs; an identifier built from other input is refused here.
    ///
    /// # Refusals
    /// The stream is refused when the server already has
    /// [`maximum_event_sources`](crate::http::HttpServerConfiguration::maximum_event_sources) streams
    /// open, when the identifier holds a control character or is already in use under
    /// [`IdentifierPolicy::RejectNew`](crate::http::streams::IdentifierPolicy), when this is the second
    /// call on the same request (keep the first handle: it is cheap to clone), or when the request did not
    /// come from a server. The source returned is then *refused*
    /// ([`refusal`](LocalEventSource::refusal) says why): it sends nothing (`send` returns `false`),
    /// its waits return at once, and [`close`](LocalEventSource::close) returns the refusal's
    /// answer, so the seed's handler, unchanged, answers it. A full server answers a stream the browser
    /// retries (`200`, `retry:` of a few seconds, `Retry-After`), since any other answer ends an
    /// `EventSource` for good; an identifier with a control character answers `400`, one in use `409`,
    /// a misuse `500`. Nothing panics.
    /// [`HttpRequest::try_get_event_source`] returns the refusal as an error instead, for `?`.
    ///
    /// ```
    /// # use sisk::prelude::*;
    /// # async fn handler(req: HttpRequest) -> HttpResponse {
    /// let sse = req.get_event_source("my-index-connection");
    /// if let Some(why) = sse.refusal() {
    ///     tracing::info!(%why, "stream refused");
    /// }
    /// sse.send("Olá, mundo!"); // `false` when refused
    /// sse.close() // the refusal's answer when refused
    /// # }
    /// ```
    pub fn get_event_source<'a>(&self, identifier: impl Into<Option<&'a str>>) -> LocalEventSource {
        let identifier = identifier.into();
        match self.try_get_event_source(identifier) {
            Ok(source) => source,
            Err(refusal) => LocalEventSource::refused(self.head.clone(), identifier, refusal),
        }
    }

    /// [`get_event_source`](HttpRequest::get_event_source) that returns the misuse as an error.
    pub fn try_get_event_source<'a>(&self, identifier: impl Into<Option<&'a str>>) -> Result<LocalEventSource, Error> {
        let identifier = identifier.into();
        if let Some(identifier) = identifier.filter(|id| id.chars().any(char::is_control)) {
            return Err(Error::invalid_identifier(identifier));
        }
        self.open_event_source(identifier)
    }

    /// Opens a stream of the framework's own (an identifier that begins with
    /// [`INTERNAL_MARK`](crate::http::streams::INTERNAL_MARK)), resumed from `cursor` (its owner decides
    /// whether the request's `Last-Event-ID` is one): the program's audiences and hooks never reach it,
    /// and the log leaves its priming, and telling it it is stale, to its owner.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(crate) fn open_internal_event_source(
        &self,
        identifier: &str,
        cursor: Option<&str>,
    ) -> Result<LocalEventSource, Error> {
        debug_assert!(crate::http::streams::is_internal(identifier));
        self.open_event_source_from(Some(identifier), cursor)
    }

    fn open_event_source(&self, identifier: Option<&str>) -> Result<LocalEventSource, Error> {
        self.open_event_source_from(identifier, self.last_event_id())
    }

    fn open_event_source_from(
        &self,
        identifier: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<LocalEventSource, Error> {
        let mut slot = lock(&self.state.stream);
        match std::mem::replace(&mut *slot, StreamKind::Unavailable) {
            StreamKind::NotYet => {
                let place = match self.head.server.event_stream_slot() {
                    Ok(place) => place,
                    Err(full) => {
                        *slot = StreamKind::NotYet;
                        return Err(full);
                    }
                };
                let _ = self.state.event_stream_place.set(place);
                let source = LocalEventSource::open(self.head.clone(), identifier);
                *slot = StreamKind::EventStream(source.clone());
                drop(slot);
                // A HEAD request (a monitoring probe, a link checker) gets the stream's head and no body:
                // it must never register, replace or be counted as a connection of its identifier.
                if identifier.is_some() && self.head.method != Method::HEAD {
                    source.register(cursor)?;
                }
                Ok(source)
            }
            previous @ StreamKind::ResponseStream(_) => {
                *slot = previous;
                Err(Error::response_stream_already_open())
            }
            previous => {
                *slot = previous;
                Err(Error::event_source_already_open())
            }
        }
    }

    /// Streams the response: returns a handle to set the status, headers and length on, then write the
    /// body piece by piece (Sisk's `GetResponseStream`). See [`HttpResponseStream`].
    ///
    /// An error when the request already streams its response (a second call, or after
    /// [`get_event_source`](Self::get_event_source)), or did not come from a server.
    pub fn get_response_stream(&self) -> Result<HttpResponseStream, Error> {
        let mut slot = lock(&self.state.stream);
        match std::mem::replace(&mut *slot, StreamKind::Unavailable) {
            StreamKind::NotYet => {
                let stream = HttpResponseStream::open(self.head.clone());
                *slot = StreamKind::ResponseStream(stream.clone());
                Ok(stream)
            }
            previous => {
                *slot = previous;
                Err(Error::response_stream_already_open())
            }
        }
    }
}

#[cfg(feature = "websockets")]
impl HttpRequest {
    /// Accepts the request as a WebSocket, as Sisk's `GetWebSocketAsync`: sends the handshake's head
    /// (`101 Switching Protocols`, or `200` to HTTP/2's extended `CONNECT`) and returns the socket once
    /// the connection is handed over. With an identifier the socket is in
    /// [`server.web_sockets()`](HttpServer::web_sockets) while it is open, under the server's
    /// [`identifier_policy`](crate::http::HttpServerConfiguration::identifier_policy) (by default a
    /// second socket with the identifier stands beside the first).
    ///
    /// The handler keeps running after the head is sent, as for an event stream; when it returns (with
    /// [`close`](crate::http::websockets::HttpWebSocket::close)'s response, say) the socket closes with
    /// code 1000, or 1011 if it failed.
    ///
    /// # Errors
    /// Each is an answer the handler can return with `?`: `426 Upgrade Required` (with
    /// `Upgrade: websocket`) for a request that does not ask for a WebSocket — a plain `GET` — or asks
    /// for a version other than 13; `400` for a malformed handshake (no or a bad `Sec-WebSocket-Key`, no
    /// `Connection: upgrade`, not a `GET`) or an identifier with a control character; `409` for an
    /// identifier in use under
    /// [`IdentifierPolicy::RejectNew`](crate::http::streams::IdentifierPolicy::RejectNew); `500` for a
    /// second call, a request that already streams, or one no server of sisk's can upgrade.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sisk::prelude::*;
    /// let mut router = Router::new();
    /// router.map_get("/connect", |req: HttpRequest| async move {
    ///     let ws = req.get_web_socket(None).await?;
    ///     while let Some(received_message) = ws.receive_message(Duration::from_secs(30)).await {
    ///         let msg_text = received_message.get_string();
    ///         println!("Received message: {msg_text}");
    ///         ws.send_async("Hello!").await;
    ///     }
    ///     Ok::<_, sisk::Error>(ws.close().await)
    /// });
    /// ```
    pub async fn get_web_socket<'a>(
        &self,
        identifier: impl Into<Option<&'a str>>,
    ) -> Result<crate::http::websockets::HttpWebSocket, Error> {
        use crate::http::websockets::{handshake, HttpWebSocket};
        let identifier = identifier.into();
        if let Some(identifier) = identifier.filter(|id| id.chars().any(char::is_control)) {
            return Err(Error::invalid_identifier(identifier));
        }
        let head = &self.head;
        let (socket, on_upgrade, accepted) = {
            let mut slot = lock(&self.state.stream);
            if !matches!(*slot, StreamKind::NotYet) {
                return Err(Error::web_socket_unavailable(
                    "the request already streams its response (a second call, or after get_event_source or \
                     get_response_stream); keep the first handle, which is cheap to clone",
                ));
            }
            let upgradable = lock(&self.state.upgradable).take();
            let extended_connect = upgradable.as_ref().is_some_and(|u| u.extended_connect);
            let accepted = handshake::accept(&head.method, head.version, &head.headers, extended_connect)?;
            let Some(upgradable) = upgradable else {
                return Err(Error::web_socket_unavailable(
                    "it did not come on a connection sisk's server serves (a tower service's, say), which \
                     alone can hand its socket over",
                ));
            };
            let socket = HttpWebSocket::open(head.clone(), identifier, accepted.0);
            *slot = StreamKind::WebSocket(socket.clone());
            (socket, upgradable.on_upgrade, accepted)
        };
        let opened = match head.server.web_sockets().register(&socket) {
            Ok(()) => handshake::complete(head, &socket, on_upgrade, accepted).await,
            Err(refused) => Err(refused),
        };
        if let Err(refused) = opened {
            socket.finished();
            return Err(refused);
        }
        Ok(socket)
    }
}

impl HttpRequest {
    /// The pipeline answered `response`, a server error: a stream that already began breaks instead of
    /// ending. A `503` to a request for an event stream whose stream had not begun (no head sent) becomes
    /// a refusal the browser retries ([`retry_later`]): an `EventSource` that got the `503` would never
    /// come back, though a `503` means "later".
    pub(crate) fn fail_event_stream(&self, response: &mut HttpResponse) {
        let slot = lock(&self.state.stream);
        let head_sent = match &*slot {
            StreamKind::EventStream(source) => !source.head_pending(),
            StreamKind::ResponseStream(_) => true,
            #[cfg(feature = "websockets")]
            StreamKind::WebSocket(_) => true,
            StreamKind::NotYet | StreamKind::Unavailable => false,
        };
        slot.end_of_request(RequestOutcome::Failed);
        drop(slot);
        if response.status == StatusCode::SERVICE_UNAVAILABLE && !head_sent && asks_for_event_stream(self.headers()) {
            let configuration = self.head.server.configuration();
            let retry = retry_after(&response.headers).unwrap_or(configuration.event_source_error_retry);
            let headers = std::mem::take(&mut response.headers);
            *response = retry_later(retry, "the server is unavailable for now; retry later", headers);
        }
    }
}

impl StreamKind {
    /// The request is over as `outcome` says: its stream, if it became one, ends by the channel's rule
    /// (a second end changes nothing).
    fn end_of_request(&self, outcome: RequestOutcome) {
        match self {
            StreamKind::EventStream(source) => source.end_of_request(outcome),
            StreamKind::ResponseStream(stream) => stream.end_of_request(outcome),
            #[cfg(feature = "websockets")]
            StreamKind::WebSocket(socket) => socket.end_of_request(outcome),
            StreamKind::NotYet | StreamKind::Unavailable => {}
        }
    }
}

impl Drop for RequestState {
    /// The request is over (the action returned or panicked, and no clone is left — a task the handler
    /// spawned with one keeps it until that task ends): its stream ends too.
    fn drop(&mut self) {
        // Dropped while a panic unwinds: the handler failed. (A server error it answered was reported
        // before, by `fail_event_stream`.)
        let outcome = if std::thread::panicking() { RequestOutcome::Failed } else { RequestOutcome::Completed };
        let slot = self.stream.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(slot, StreamKind::Unavailable).end_of_request(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points_into(value: &[u8], buffer: &Bytes) -> bool {
        let range = buffer.as_ptr_range();
        range.contains(&value.as_ptr())
    }

    #[test]
    fn detached_target_and_values_no_longer_point_into_the_read_buffer() {
        // Stands for hyper's read buffer: the parsed target and values are slices of it.
        let read_buffer = Bytes::from(b"/sse/a?x=1text/event-streamexample.org".to_vec());
        let uri = Uri::from_maybe_shared(read_buffer.slice(0..10)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT, HeaderValue::from_maybe_shared(read_buffer.slice(10..27)).unwrap());
        let mut host = HeaderValue::from_maybe_shared(read_buffer.slice(27..)).unwrap();
        host.set_sensitive(true);
        headers.insert(http::header::HOST, host);
        assert!(points_into(headers[http::header::HOST].as_bytes(), &read_buffer));

        let (uri, headers) = detach_from_read_buffer(uri, headers);

        assert_eq!(uri, "/sse/a?x=1");
        assert_eq!(headers[http::header::ACCEPT], "text/event-stream");
        assert_eq!(headers[http::header::HOST], "example.org");
        assert!(headers[http::header::HOST].is_sensitive());
        assert!(!points_into(uri.path().as_bytes(), &read_buffer));
        for value in headers.values() {
            assert!(!points_into(value.as_bytes(), &read_buffer));
        }
    }

    #[test]
    fn only_requests_for_an_event_stream_are_detached() {
        let accepting = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::ACCEPT, HeaderValue::from_static(value));
            asks_for_event_stream(&headers)
        };
        assert!(accepting("text/event-stream"));
        assert!(accepting("application/json, Text/Event-Stream;q=0.9"));
        assert!(!accepting("text/html"));
        assert!(!asks_for_event_stream(&HeaderMap::new()));
    }
}

/// Property tests of what a request parses from its headers: the `Cookie` header and `Last-Event-ID`.
/// Any header value a client can send is read without a panic; cookies encoded by the `cookie` crate
/// (as `HttpResponse` sets them) come back as they were.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::transport::{Carrier, Connection};
    use crate::http::HttpServerConfiguration;

    /// A request with `headers`, as the server would make it (without a body or a stream slot).
    fn request_with(headers: &[(&str, HeaderValue)]) -> HttpRequest {
        request_on(HttpServerConfiguration::default(), false, headers)
    }

    /// A request with `headers` on a connection that is TLS or not, to a server with `configuration`.
    fn request_on(
        configuration: HttpServerConfiguration,
        is_secure: bool,
        headers: &[(&str, HeaderValue)],
    ) -> HttpRequest {
        let mut builder = http::Request::builder().uri("/");
        for (name, value) in headers {
            builder = builder.header(*name, value.clone());
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let addr: SocketAddr = ([127, 0, 0, 1], 5000).into();
        let server =
            HttpServer::new(configuration, vec![addr], Vec::new(), None, Default::default(), Default::default());
        let carrier = if is_secure { Carrier::Tls } else { Carrier::Plain };
        let connection = Connection::detached(carrier);
        HttpRequest::new(RequestParts {
            parts,
            body: None,
            remote_address: addr,
            route_parameters: Vec::new(),
            server,
            response_headers: HeaderMap::new(),
            transport: Transport::current(&connection),
            may_stream: false,
        })
    }

    /// Any bytes a header value may hold (no CR, LF or NUL), as a client could send them.
    fn header_value() -> impl Strategy<Value = HeaderValue> {
        let byte = prop_oneof![b'\t'..=b'\t', 0x20u8..=0x7e, 0x80u8..=0xff, Just(b';'), Just(b'='), Just(b'%')];
        prop::collection::vec(byte, 0..40).prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
    }

    #[test]
    fn a_tls_connection_is_secure_unless_a_trusted_proxy_says_otherwise() {
        let host = [("host", HeaderValue::from_static("example.org:8443"))];
        let tls = request_on(HttpServerConfiguration::default(), true, &host);
        assert!(tls.is_secure());
        assert_eq!(tls.full_url(), "https://example.org:8443/");
        assert_eq!((tls.host(), tls.authority()), (Some("example.org"), Some("example.org:8443")));

        let behind_a_proxy = HttpServerConfiguration {
            forwarding_resolver: Some(crate::http::ForwardingResolver::trusting(["127.0.0.1"]).unwrap()),
            ..HttpServerConfiguration::default()
        };
        let proto = [("x-forwarded-proto", HeaderValue::from_static("http"))];
        let downgraded = request_on(behind_a_proxy.clone(), true, &proto);
        assert!(!downgraded.is_secure(), "the proxy saw plain HTTP from the client");
        assert!(request_on(behind_a_proxy, true, &[]).is_secure(), "no header: the connection's own scheme");
        assert!(!request_on(HttpServerConfiguration::default(), false, &[]).is_secure());
    }

    /// Regression: `get_event_source` on a request without a server connection panicked with its error.
    #[test]
    fn a_request_not_from_a_server_gets_a_refused_source_not_a_panic() {
        let request = request_with(&[]);
        let sse = request.get_event_source("id");
        assert_eq!(sse.refusal().map(Error::kind), Some(crate::ErrorKind::EventSourceAlreadyOpen));
        assert!(sse.is_refused() && !sse.is_active() && !sse.send("nobody"));
        assert_eq!(sse.append_header("X-A", "b").unwrap_err().kind(), crate::ErrorKind::EventSourceAlreadyOpen);
        assert_eq!(sse.close().status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(request.try_get_event_source(None).is_err(), "the other door still returns the error");
    }

    #[test]
    fn host_strips_the_port_and_keeps_ipv6_brackets() {
        let table = [
            ("localhost:5000", "localhost"),
            ("localhost", "localhost"),
            ("[::1]:8080", "[::1]"),
            ("[::1]", "[::1]"),
            ("127.0.0.1:80", "127.0.0.1"),
        ];
        for (authority, host) in table {
            let request = request_with(&[("host", HeaderValue::from_static(authority))]);
            assert_eq!(request.host(), Some(host), "{authority}");
        }
        assert_eq!(request_with(&[]).host(), None);
        assert_eq!(request_with(&[]).full_url(), "http://localhost/");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_cookie_header_is_read(values in prop::collection::vec(header_value(), 0..3)) {
            let headers: Vec<(&str, HeaderValue)> = values.into_iter().map(|value| ("cookie", value)).collect();
            let request = request_with(&headers);
            for cookie in request.cookies() {
                prop_assert!(request.cookie(cookie.name()).is_some());
            }
        }

        #[test]
        fn encoded_cookies_come_back(cookies in prop::collection::vec(("[A-Za-z0-9_-]{1,8}", any::<String>()), 1..5)) {
            let header = cookies
                .iter()
                .map(|(name, value)| Cookie::new(name.clone(), value.clone()).encoded().to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let request = request_with(&[("cookie", HeaderValue::from_str(&header).unwrap())]);
            let read: Vec<(String, String)> =
                request.cookies().iter().map(|c| (c.name().to_owned(), c.value().to_owned())).collect();
            prop_assert_eq!(read, cookies);
        }

        /// Browsers send what `document.cookie` set as raw UTF-8: such a header is still read, and its
        /// other cookies with it.
        #[test]
        fn raw_utf8_cookies_are_read(name in "[a-z]{1,6}", value in "[^;%\\p{Cc}\\s\"]{1,10}") {
            let header = format!("plain=1; {name}={value}");
            let request = request_with(&[("cookie", HeaderValue::from_bytes(header.as_bytes()).unwrap())]);
            prop_assert_eq!(request.cookie("plain"), Some("1".to_owned()));
            prop_assert_eq!(request.cookie(&name), Some(value));
        }

        #[test]
        fn last_event_id_is_the_header_when_it_is_text(value in header_value()) {
            let request = request_with(&[("last-event-id", value.clone())]);
            prop_assert_eq!(request.last_event_id(), value.to_str().ok());
        }
    }
}
