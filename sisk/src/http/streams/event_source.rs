//! [`HttpRequestEventSource`]: one Server-Sent Events connection — send to it, wait on it, ping it,
//! close it — from the handler that opened it or from anywhere that found it in the collection.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use tokio::sync::oneshot;

use crate::http::body::ResponseBody;
use crate::http::request::RequestHead;
use crate::http::response::header_pair;
use crate::http::streams::channel::{Channel, PendingHead, Pushed, QueueLimits};
use crate::http::streams::{Event, EventStreamBody, HttpStreamPingPolicy, Position, ResumeState};
use crate::http::{HttpResponse, HttpServer};
use crate::Error;

/// A Server-Sent Events connection, made by [`HttpRequest::get_event_source`](crate::http::HttpRequest::get_event_source).
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
pub struct HttpRequestEventSource {
    shared: Arc<Shared>,
}

struct Shared {
    identifier: Option<Arc<str>>,
    request: Arc<RequestHead>,
    channel: Channel,
    ping_started: AtomicBool,
    resume_state: OnceLock<ResumeState>,
    /// The cursor this connection attached with, when it was ahead of this node's window of a shared
    /// log: entries up to it arrive later and must not be sent again.
    skip_through: OnceLock<Position>,
}

impl HttpRequestEventSource {
    pub(crate) fn open(
        request: Arc<RequestHead>,
        identifier: Option<&str>,
        slot: oneshot::Sender<HttpResponse>,
    ) -> Self {
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
        let shared = Shared {
            identifier: identifier.map(Arc::from),
            channel: Channel::new(PendingHead { headers, slot }, limits),
            request,
            ping_started: AtomicBool::new(false),
            resume_state: OnceLock::new(),
            skip_through: OnceLock::new(),
        };
        HttpRequestEventSource { shared: Arc::new(shared) }
    }

    /// Puts an identified connection in the server's collection, resumed from `cursor` (the client's
    /// `Last-Event-ID`).
    pub(crate) fn register(&self, cursor: Option<&str>) {
        let state = self.server().event_sources().register(self.clone(), cursor);
        let _ = self.shared.resume_state.set(state);
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
        if self.shared.identifier.is_some() {
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
        K: TryInto<HeaderName> + fmt::Display + Clone,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let shown = name.to_string();
        let (name, value) = header_pair(name, value)?;
        self.shared
            .channel
            .with_pending_headers(|headers| {
                headers.append(name, value);
            })
            .ok_or_else(|| Error::headers_already_sent(&shown))
    }

    /// Sends `data` as one event (several `data:` lines if it has line breaks). Returns `false` when the
    /// connection is closed, or when the client is too slow and has just been disconnected.
    pub fn send(&self, data: impl fmt::Display) -> bool {
        self.send_event(&Event::new().data(data.to_string()))
    }

    /// Sends a typed [`Event`] (name, id, retry, comment).
    pub fn send_event(&self, event: &Event) -> bool {
        self.push(event.encode(), true)
    }

    /// Like [`send`](Self::send), but when the queue is full it waits for room instead of disconnecting
    /// the client. Returns `false` once the connection is closed.
    pub async fn send_async(&self, data: impl fmt::Display) -> bool {
        self.send_event_async(&Event::new().data(data.to_string())).await
    }

    /// Like [`send_event`](Self::send_event), waiting for room in the queue.
    pub async fn send_event_async(&self, event: &Event) -> bool {
        let bytes = event.encode();
        self.commit_head();
        loop {
            match self.shared.channel.push(bytes.clone(), true) {
                Pushed::Queued => return true,
                Pushed::Closed => return false,
                Pushed::Full => self.shared.channel.room(bytes.len()).await,
            }
        }
    }

    pub(crate) fn push(&self, bytes: Bytes, application: bool) -> bool {
        self.commit_head();
        match self.shared.channel.push(bytes, application) {
            Pushed::Queued => true,
            Pushed::Closed => false,
            Pushed::Full => {
                self.disconnect_slow_client();
                false
            }
        }
    }

    /// Queues an event already encoded (a publish shares one encoding among every connection), leaving
    /// a full queue to the caller, who disconnects it once its locks are released.
    pub(crate) fn offer(&self, bytes: Bytes) -> Pushed {
        self.commit_head();
        self.shared.channel.push(bytes, true)
    }

    /// Queues what the event log sends a connection as it attaches, without sending the head: the
    /// handler may still append headers.
    pub(crate) fn enqueue_before_head(&self, frames: Bytes) {
        if !frames.is_empty() {
            self.shared.channel.push(frames, false);
        }
    }

    /// Sets the cursor past which a shared log's entries are new to this connection.
    pub(crate) fn skip_through(&self, position: Position) {
        let _ = self.shared.skip_through.set(position);
    }

    /// True when the connection attached with a cursor at or past `position`.
    pub(crate) fn has_seen(&self, position: Position) -> bool {
        self.shared.skip_through.get().is_some_and(|through| position <= *through)
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

    /// Sets up the ping policy: `configure` receives it with Sisk's defaults (every 5 s, `%ping%`) and
    /// usually ends with `ping.start()`.
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
        let mut policy = HttpStreamPingPolicy::new(self.clone());
        configure(&mut policy);
    }

    /// Marks the ping task as started; false if one already runs.
    pub(crate) fn claim_ping(&self) -> bool {
        !self.shared.ping_started.swap(true, Ordering::AcqRel)
    }

    /// Waits until the connection fails (the client leaves, a send fails, a ping cannot be written) or
    /// until `idle` passes with no message sent — each `send` restarts the clock, pings do not. Then the
    /// connection is closed and the wait returns. A server shutdown ends the wait too.
    pub async fn wait_for_fail(&self, idle: Duration) {
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

    /// Waits, with no time limit, until the connection fails or the server shuts down.
    pub async fn keep_alive(&self) {
        self.commit_head();
        tokio::select! {
            () = self.shared.channel.closed() => {}
            () = self.server().stopping().cancelled() => {
                self.close();
            }
        }
    }

    /// Closes the connection cleanly: what is queued is still sent, then the stream ends. Removes it from
    /// the collection and returns the response for the handler to return.
    pub fn close(&self) -> HttpResponse {
        self.commit_head();
        self.shared.channel.close(true);
        self.unregister();
        HttpResponse::with_status_code(StatusCode::OK)
    }

    /// Closes the connection at once, dropping whatever is still queued.
    pub fn cancel(&self) {
        self.commit_head();
        self.shared.channel.close(false);
        self.unregister();
    }

    /// Drops a client that does not read: its queue goes, and what carries its stream is cut (its HTTP/2
    /// stream, or its HTTP/1.1 connection), since the transport cannot finish a response the client will
    /// not take.
    fn disconnect(&self) {
        self.shared.channel.close(false);
        self.shared.request.transport.cut_off();
        self.unregister();
    }

    /// The request is over. A stream whose head went out is closed cleanly; one whose head never did is
    /// dropped with its head, so the client gets the response the handler returned instead (an error, say).
    pub(crate) fn end_of_request(&self) {
        if self.shared.channel.take_head().is_some() {
            self.shared.channel.close(false);
            self.unregister();
        } else {
            self.close();
        }
    }

    /// The body is gone: the client left, or the stream ended and hyper dropped it.
    pub(crate) fn body_dropped(&self) {
        self.shared.channel.close(false);
        self.unregister();
    }

    /// Sends the response head, once.
    fn commit_head(&self) {
        let Some(head) = self.shared.channel.take_head() else {
            return;
        };
        let request = &self.shared.request;
        request.transport.bound_send_buffer(request.server.configuration().event_source_send_buffer);
        let body = ResponseBody::stream(EventStreamBody::new(self.clone()));
        let response = HttpResponse::with_body(StatusCode::OK, head.headers, body);
        // If the request is already over, the response comes back and its body's drop closes us.
        let _ = head.slot.send(response);
    }

    pub(crate) fn channel(&self) -> &Channel {
        &self.shared.channel
    }

    /// True when both handles are the same connection.
    pub fn ptr_eq(&self, other: &HttpRequestEventSource) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for HttpRequestEventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequestEventSource")
            .field("identifier", &self.identifier())
            .field("active", &self.is_active())
            .field("remote_address", &self.remote_address())
            .finish()
    }
}
