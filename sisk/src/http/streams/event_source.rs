//! [`LocalEventSource`]: one Server-Sent Events connection that this node holds — send to it, wait on
//! it, ping it, close it — from the handler that opened it or from anywhere that found it in the
//! collection. (A connection another node of a backplane holds is a
//! [`RemoteEventSource`](crate::http::streams::RemoteEventSource).)

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};

use crate::http::body::ResponseBody;
use crate::http::request::RequestHead;
use crate::http::response::header_pair;
use crate::http::streams::channel::{Channel, Closing, Ended, PendingHead, Pushed, QueueLimits};
use crate::http::streams::ping_policy::{PingState, Pinged};
use crate::http::streams::{Event, EventStreamBody, HttpStreamPingPolicy, Position, RequestOutcome, ResumeState};
use crate::http::{HttpResponse, HttpServer, IntoResponse};
use crate::Error;

/// A Server-Sent Events connection on this node, made by
/// [`HttpRequest::get_event_source`](crate::http::HttpRequest::get_event_source).
///
/// A cheap handle: clones share the connection, so the handler, the
/// [collection](crate::http::streams::HttpEventSourceCollection), a ping task and your own tasks can all
/// hold one. Once closed — by [`close`](Self::close), by the client leaving, by a failed ping, by the
/// handler's request ending, or by a newer connection with the same identifier — it stays closed:
/// [`send`](Self::send) returns `false` and [`is_active`](Self::is_active) is `false`.
///
/// The response head (status 200, `Content-Type: text/event-stream; charset=utf-8`,
/// `Cache-Control: no-store, no-cache`, the appended headers) is sent with the first message, wait or
/// close. Messages wait in a bounded queue
/// ([`event_source_queue_capacity`](crate::http::HttpServerConfiguration::event_source_queue_capacity)
/// messages, [`event_source_queue_bytes`](crate::http::HttpServerConfiguration::event_source_queue_bytes));
/// a client that stops reading until the queue is full is disconnected with a warning in the log, so it
/// never slows the others or grows memory.
///
/// Found in the collection, it comes wrapped as
/// [`HttpRequestEventSource::Local`](crate::http::streams::HttpRequestEventSource::Local).
///
/// ```
/// use std::time::Duration;
/// use sisk::prelude::*;
///
/// let mut r = Router::new();
/// r += Route::new(RouteMethod::Get, "/", |req: HttpRequest| async move {
///     let sse = req.get_event_source("my-index-connection");
///     sse.append_header("X-Accel-Buffering", "no")?;
///     sse.send("Olá, mundo!");
///     sse.send_event(&Event::new().event("update").id("1").data("{\"n\":1}"));
///     sse.wait_for_fail(Duration::from_secs(15)).await;
///     Ok(sse.close())
/// });
/// ```
#[derive(Clone)]
pub struct LocalEventSource {
    shared: Arc<Shared>,
}

/// What is pushed to a connection: a message restarts the idle clock of `wait_for_fail`, a ping does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// An event sent by the application.
    Message,
    /// A keep-alive comment.
    Ping,
}

/// A handle that does not keep its connection's state alive (the ping schedule holds these).
#[derive(Debug, Clone)]
pub(crate) struct WeakEventSource(Weak<Shared>);

impl WeakEventSource {
    /// The connection, while a handle on it remains.
    pub(crate) fn upgrade(&self) -> Option<LocalEventSource> {
        self.0.upgrade().map(|shared| LocalEventSource { shared })
    }
}

/// The state every handle of one connection shares.
struct Shared {
    /// The connection's number among this node's connections.
    connection: u64,
    /// Where the shared log placed this connection's own `Joined` entry, once this node read it back.
    joined_at: OnceLock<Position>,
    identifier: Option<Arc<str>>,
    request: Arc<RequestHead>,
    channel: Channel,
    /// The ping policy's kept settings and current `start`.
    pings: PingState,
    resume_state: OnceLock<ResumeState>,
    /// Why the stream was refused (its channel is then closed from the start); `None` for a stream that
    /// opened. Boxed: an open stream pays a pointer for it, not a whole error.
    refusal: Option<Box<Error>>,
}

impl LocalEventSource {
    pub(crate) fn open(request: Arc<RequestHead>, identifier: Option<&str>) -> Self {
        let mut headers = HeaderMap::with_capacity(request.response_headers.len() + 2);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
        for (name, value) in &request.response_headers {
            headers.append(name, value.clone());
        }
        let configuration = request.server.configuration();
        let limits = QueueLimits {
            messages: configuration.event_source_queue_capacity,
            bytes: configuration.event_source_queue_bytes,
        };
        static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
        let shared = Shared {
            connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            joined_at: OnceLock::new(),
            identifier: identifier.map(Arc::from),
            channel: Channel::new(PendingHead { headers }, limits),
            request,
            pings: PingState::default(),
            resume_state: OnceLock::new(),
            refusal: None,
        };
        LocalEventSource { shared: Arc::new(shared) }
    }

    /// A source refused with `refusal`: nothing is sent to it, its waits return at once, and its
    /// [`close`](Self::close) is the refusal's answer. It is never registered nor counted.
    pub(crate) fn refused(request: Arc<RequestHead>, identifier: Option<&str>, refusal: Error) -> Self {
        let shared = Shared {
            connection: 0,
            joined_at: OnceLock::new(),
            identifier: identifier.map(Arc::from),
            channel: Channel::refused(),
            request,
            pings: PingState::default(),
            resume_state: OnceLock::new(),
            refusal: Some(Box::new(refusal)),
        };
        LocalEventSource { shared: Arc::new(shared) }
    }

    /// Why [`get_event_source`](crate::http::HttpRequest::get_event_source) refused this stream, or
    /// `None` for a stream that opened (it may have closed since: see [`is_active`](Self::is_active)).
    ///
    /// A refused source sends nothing (`send` returns `false`), its waits return at once, a header
    /// appended to it is this error, and [`close`](Self::close) returns the error's answer: a stream
    /// that tells the browser when to retry for a full server
    /// ([`ErrorKind::TooManyEventSources`](crate::ErrorKind::TooManyEventSources)), `400` for an
    /// identifier with a control character, `409` for one in use, `500` for a misuse.
    pub fn refusal(&self) -> Option<&Error> {
        self.shared.refusal.as_deref()
    }

    /// True when the stream was refused (see [`refusal`](Self::refusal)).
    pub fn is_refused(&self) -> bool {
        self.shared.refusal.is_some()
    }

    /// This node's number for the connection.
    pub(crate) fn connection(&self) -> u64 {
        self.shared.connection
    }

    /// Records where the shared log placed this connection's own `Joined` entry.
    pub(crate) fn joined_at(&self, position: Position) {
        let _ = self.shared.joined_at.set(position);
    }

    /// True once this node read back this connection's own `Joined` entry.
    pub(crate) fn has_joined(&self) -> bool {
        self.shared.joined_at.get().is_some()
    }

    /// Puts an identified connection in the server's collection, resumed from `cursor` (the client's
    /// `Last-Event-ID`); fails when the identifier policy refuses it.
    pub(crate) fn register(&self, cursor: Option<&str>) -> Result<(), Error> {
        let state = self.server().event_sources().register(self.clone(), cursor)?;
        let _ = self.shared.resume_state.set(state);
        Ok(())
    }

    /// How this connection was resumed from the server's event log when it opened: [`Fresh`]
    /// (no `Last-Event-ID`, or no identifier), [`Recovered`] with the number of events sent again, or
    /// [`Stale`] with the reason — then the client got the stale event, and the handler should send it
    /// a fresh snapshot of whatever state it shows.
    ///
    /// Only identified connections are resumed by the log; an anonymous one can resume itself from
    /// [`HttpRequest::last_event_id`](crate::http::HttpRequest::last_event_id).
    ///
    /// [`Fresh`]: ResumeState::Fresh
    /// [`Recovered`]: ResumeState::Recovered
    /// [`Stale`]: ResumeState::Stale
    pub fn resume_state(&self) -> ResumeState {
        self.shared.resume_state.get().copied().unwrap_or(ResumeState::Fresh)
    }

    fn unregister(&self) {
        if self.identifier().is_some() {
            self.server().event_sources().unregister(self);
        }
    }

    /// The identifier given to `get_event_source`, if any.
    pub fn identifier(&self) -> Option<&str> {
        self.shared.identifier.as_deref()
    }

    /// True until the connection closes.
    pub fn is_active(&self) -> bool {
        !self.shared.channel.is_closed()
    }

    /// Bytes handed to the transport so far (the encoded events, pings included).
    pub fn sent_content_length(&self) -> u64 {
        self.shared.channel.sent_bytes()
    }

    /// Messages waiting for a slow client.
    pub fn queued_messages(&self) -> usize {
        self.shared.channel.queued()
    }

    /// The method of the request that opened the connection.
    pub fn method(&self) -> &Method {
        &self.shared.request.method
    }

    /// The path of the request that opened the connection.
    pub fn path(&self) -> &str {
        self.shared.request.uri.path()
    }

    /// The headers of the request that opened the connection.
    pub fn headers(&self) -> &HeaderMap {
        &self.shared.request.headers
    }

    /// The client's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.shared.request.remote_address
    }

    /// The server the connection belongs to.
    pub fn server(&self) -> &HttpServer {
        &self.shared.request.server
    }

    /// Adds a response header. Only before the first message, wait or close: afterwards the head is on
    /// the wire and this is an error (never a silent no-op). A name or value that is not a valid header —
    /// a value with CR or LF, say — is an error too.
    pub fn append_header<K, V>(&self, name: K, value: V) -> Result<(), Error>
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        if let Some(refusal) = self.refusal() {
            return Err(refusal.clone());
        }
        let (name, value) = header_pair(name, value)?;
        let mut pair = Some((name, value));
        self.shared.channel.with_pending_headers(|headers| {
            if let Some((name, value)) = pair.take() {
                headers.append(name, value);
            }
        });
        match pair {
            None => Ok(()),
            Some((name, _)) => Err(Error::headers_already_sent(name.as_str())),
        }
    }

    /// Sends `data` as one event (several `data:` lines if it has line breaks). Returns `false` when the
    /// connection is closed, or when the client is too slow and has just been disconnected.
    pub fn send(&self, data: impl fmt::Display) -> bool {
        self.send_event(&Event::new().data(data.to_string()))
    }

    /// Sends a typed [`Event`] (name, id, retry, comment).
    pub fn send_event(&self, event: &Event) -> bool {
        self.push(event.encode(), Traffic::Message)
    }

    /// Like [`send`](Self::send), but when the queue is full it waits for room instead of disconnecting
    /// the client. Returns `false` once the connection is closed.
    pub async fn send_async(&self, data: impl fmt::Display) -> bool {
        self.send_event_async(&Event::new().data(data.to_string())).await
    }

    /// Like [`send_event`](Self::send_event), waiting for room in the queue.
    pub async fn send_event_async(&self, event: &Event) -> bool {
        let channel = &self.shared.channel;
        let bytes = event.encode();
        self.commit_head();
        loop {
            match channel.push(bytes.clone(), Some(Instant::now())) {
                Pushed::Queued => return true,
                Pushed::Closed => return false,
                Pushed::Full => channel.room(bytes.len()).await,
            }
        }
    }

    /// Queues `bytes`, disconnecting a client whose queue is full; false when it was not queued.
    pub(crate) fn push(&self, bytes: Bytes, traffic: Traffic) -> bool {
        self.commit_head();
        match self.shared.channel.push(bytes, (traffic == Traffic::Message).then(Instant::now)) {
            Pushed::Queued => true,
            Pushed::Closed => false,
            Pushed::Full => {
                self.disconnect_slow_client();
                false
            }
        }
    }

    /// Queues an event already encoded (a publish shares one encoding among every connection, and one
    /// reading of the clock, `sent_at`), leaving to the caller, once its locks are released, a full
    /// queue to disconnect and a head to send ([`head_pending`](Self::head_pending)).
    pub(crate) fn offer(&self, bytes: Bytes, sent_at: Instant) -> Pushed {
        self.shared.channel.push(bytes, Some(sent_at))
    }

    /// True while the response head waits for the first message.
    pub(crate) fn head_pending(&self) -> bool {
        self.shared.channel.head_pending()
    }

    /// Queues what the event log sends a connection as it attaches, without sending the head: the
    /// handler may still append headers.
    pub(crate) fn enqueue_before_head(&self, frames: Bytes) {
        if !frames.is_empty() {
            self.shared.channel.push(frames, None);
        }
    }

    /// Disconnects a client whose queue is full, with a warning.
    pub(crate) fn disconnect_slow_client(&self) {
        tracing::warn!(
            identifier = ?self.identifier(),
            remote = %self.remote_address(),
            queued = self.queued_messages(),
            "event-source client is not reading and its queue is full; disconnecting it"
        );
        self.disconnect();
    }

    /// Sets up the ping policy: `configure` receives it with Sisk's defaults (every 5 s, `%ping%`), or with
    /// what an earlier `with_ping` set (settings are kept, as on Sisk's policy), and usually ends with
    /// `ping.start()`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sisk::prelude::*;
    /// # async fn events(request: HttpRequest) -> HttpResponse {
    /// let sse = request.get_event_source(None);
    /// sse.with_ping(|ping| {
    ///     ping.data_message = "ping-message".into();
    ///     ping.interval = Duration::from_secs(5);
    ///     ping.start();
    /// });
    /// sse.keep_alive().await;
    /// sse.close()
    /// # }
    /// ```
    pub fn with_ping(&self, configure: impl FnOnce(&mut HttpStreamPingPolicy)) {
        if self.is_refused() {
            return;
        }
        self.shared.pings.configure(Pinged::EventSource(self.downgrade()), self.server().clone(), configure);
    }

    /// The ping policy's kept settings and current `start`.
    pub(crate) fn pings(&self) -> &PingState {
        &self.shared.pings
    }

    /// Waits until the connection fails (the client leaves, a send fails, a ping cannot be written) or
    /// until `idle` passes with no message sent — each `send` restarts the clock, pings do not. Then the
    /// connection is closed and the wait returns. A server shutdown ends the wait too; a
    /// [refused](Self::refusal) stream returns at once.
    pub async fn wait_for_fail(&self, idle: Duration) {
        if self.is_refused() {
            return;
        }
        self.commit_head();
        let channel = &self.shared.channel;
        let stopping = self.server().stopping().clone();
        loop {
            // An idle time too long to represent (`Duration::MAX`) means no time limit.
            let Some(deadline) = channel.last_message_at().checked_add(idle) else {
                return self.keep_alive().await;
            };
            if Instant::now() >= deadline {
                self.close();
                return;
            }
            tokio::select! {
                () = channel.closed() => return,
                () = tokio::time::sleep_until(deadline.into()) => {}
                () = stopping.cancelled() => {
                    self.close();
                    return;
                }
            }
        }
    }

    /// Waits, with no time limit, until the connection fails or the server shuts down (a
    /// [refused](Self::refusal) stream returns at once).
    pub async fn keep_alive(&self) {
        if self.is_refused() {
            return;
        }
        let stopping = self.server().stopping().clone();
        self.commit_head();
        tokio::select! {
            () = self.shared.channel.closed() => {}
            () = stopping.cancelled() => {
                self.close();
            }
        }
    }

    /// Closes the connection cleanly: what is queued is still sent, then the stream ends. Removes it from
    /// the collection and returns the response for the handler to return. For a
    /// [refused](Self::refusal) stream it returns the refusal's answer.
    pub fn close(&self) -> HttpResponse {
        if let Some(refusal) = self.refusal() {
            return refusal.clone().into_response();
        }
        self.commit_head();
        self.shared.channel.close(Closing::Flush);
        self.unregister();
        HttpResponse::from_status(StatusCode::OK)
    }

    /// Drops the messages still waiting in the queue, as Sisk's `Cancel` clears its send queue: the
    /// connection stays open and later sends go out as usual. A message the transport already took is
    /// sent whole (never cut in the middle). To end the connection, [`close`](Self::close) it.
    pub fn cancel(&self) {
        let dropped = self.shared.channel.clear();
        tracing::debug!(identifier = ?self.identifier(), dropped, "event-source queue cleared");
    }

    /// Drops a client that does not read: its queue goes, and what carries its stream is cut (its HTTP/2
    /// stream, or its HTTP/1.1 connection), since the transport cannot finish a response the client will
    /// not take.
    fn disconnect(&self) {
        self.shared.channel.close(Closing::Discard);
        self.shared.request.transport.cut_off();
        self.unregister();
    }

    /// The request is over, as `outcome` says; the channel's rule ends the stream
    /// ([`Channel::end_of_request`]). A stream whose head never went out is dropped with its head, so the
    /// client gets the response the handler returned instead (an error, say). One whose head went out is
    /// closed cleanly — unless the handler failed (a server error, a panic): then its client is told to
    /// wait [`event_source_error_retry`](crate::http::HttpServerConfiguration::event_source_error_retry)
    /// before reconnecting, and the stream breaks instead of ending, so the failure is not mistaken for
    /// a clean end.
    pub(crate) fn end_of_request(&self, outcome: RequestOutcome) {
        let retry = self.server().configuration().event_source_error_retry;
        let last_frame = (outcome == RequestOutcome::Failed).then(|| Event::new().retry(retry).encode());
        if self.shared.channel.end_of_request(outcome, last_frame) == Ended::Broken {
            tracing::error!(
                identifier = ?self.identifier(),
                remote = %self.remote_address(),
                ?retry,
                "the handler failed after its event stream began; the stream is cut, and the client told to wait before reconnecting"
            );
        }
        self.unregister();
    }

    /// The body is gone: the client left, or the stream ended and hyper dropped it.
    pub(crate) fn body_dropped(&self) {
        self.shared.channel.close(Closing::Discard);
        self.unregister();
    }

    /// Sends the response head, once.
    pub(crate) fn commit_head(&self) {
        let Some(head) = self.shared.channel.take_head() else {
            return;
        };
        let request = &self.shared.request;
        request.transport.bound_send_buffer(request.server.configuration().event_source_send_buffer);
        let body = ResponseBody::event_stream(EventStreamBody::new(self.clone()));
        let response = HttpResponse::with_body(StatusCode::OK, head.headers, body);
        // If the request is already over, the slot refuses the head, and its body's drop closes us.
        request.head_slot.commit(response);
    }

    /// A handle that does not keep the connection alive.
    pub(crate) fn downgrade(&self) -> WeakEventSource {
        WeakEventSource(Arc::downgrade(&self.shared))
    }

    /// The queue of the connection.
    pub(crate) fn channel(&self) -> &Channel {
        &self.shared.channel
    }

    /// True when both handles are the same connection.
    pub fn ptr_eq(&self, other: &LocalEventSource) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for LocalEventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEventSource")
            .field("identifier", &self.identifier())
            .field("active", &self.is_active())
            .field("refusal", &self.refusal())
            .field("remote_address", &self.remote_address())
            .finish()
    }
}
