//! [`HttpWebSocket`]: one WebSocket connection — receive from it, send to it, ping it, close it — from
//! the handler that accepted it or from anywhere that found it in
//! [`server.web_sockets()`](crate::http::HttpServer::web_sockets).

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_util::sync::CancellationToken;

use crate::http::request::RequestHead;
use crate::http::streams::{
    Channel, Closing, HttpStreamPingPolicy, PingState, Pinged, Pushed, QueueLimits, RequestOutcome,
};
use crate::http::websockets::WebSocketMessage;
use crate::http::{HttpResponse, HttpServer};
use crate::sync::lock;

/// How many received messages wait for the handler before the socket stops reading (and TCP slows
/// the client down).
const INBOX: usize = 16;

/// A WebSocket connection, made by
/// [`HttpRequest::get_web_socket`](crate::http::HttpRequest::get_web_socket).
///
/// A cheap handle: clones share the connection, so the handler, the
/// [collection](crate::http::websockets::HttpWebSocketCollection) and your own tasks can all hold one.
/// Messages received wait, in order, for [`receive_message`](Self::receive_message); what is sent waits
/// in a bounded queue
/// ([`web_socket_queue_capacity`](crate::http::HttpServerConfiguration::web_socket_queue_capacity)
/// messages, [`web_socket_queue_bytes`](crate::http::HttpServerConfiguration::web_socket_queue_bytes)),
/// with the event streams' policy: a client that stops reading until its queue is full is disconnected
/// alone, with a warning in the log, and never slows the others. Reading and writing go on at the same
/// time (unlike Sisk, where a wait for a message blocks sends).
///
/// Once closed — by [`close`](Self::close), by the client, by a protocol error, by the handler's request
/// ending, by a newer connection with its identifier (under
/// [`IdentifierPolicy::Replace`](crate::http::streams::IdentifierPolicy::Replace)), or by the server
/// shutting down (close code 1001) — it stays closed: `send` returns `false`, `receive_message` `None`.
#[derive(Clone)]
pub struct HttpWebSocket {
    shared: Arc<Shared>,
}

/// A handle that does not keep its socket alive (the ping schedule holds these).
#[derive(Debug, Clone)]
pub(crate) struct WeakWebSocket(Weak<Shared>);

impl WeakWebSocket {
    /// The socket, while a handle on it remains.
    pub(crate) fn upgrade(&self) -> Option<HttpWebSocket> {
        self.0.upgrade().map(|shared| HttpWebSocket { shared })
    }
}

pub(super) struct Shared {
    identifier: Option<Arc<str>>,
    request: Arc<RequestHead>,
    /// The status of the head that accepted the handshake (`101`, or `200` over HTTP/2).
    accepted_with: StatusCode,
    pub(super) channel: Channel<Message>,
    /// What the client sent, in order; `None` once the socket stopped reading.
    inbox: tokio::sync::Mutex<mpsc::Receiver<WebSocketMessage>>,
    /// The other end of `inbox`, taken by the task that reads the socket.
    inbox_sender: Mutex<Option<mpsc::Sender<WebSocketMessage>>>,
    /// The close frame sent once the queue is drained (1000 unless something else said why).
    close_frame: Mutex<Option<CloseFrame>>,
    /// Cancelled to drop the connection at once (a client that does not read, the shutdown timeout).
    pub(super) cutoff: CancellationToken,
    /// Cancelled when the task that drives the socket has ended (or never started).
    pub(super) finished: CancellationToken,
    registered: AtomicBool,
    /// How many pongs the client sent (its answers to pings).
    pongs: AtomicU64,
    /// The ping policy's kept settings and current `start`.
    pings: PingState,
}

impl HttpWebSocket {
    pub(crate) fn open(request: Arc<RequestHead>, identifier: Option<&str>, accepted_with: StatusCode) -> Self {
        let configuration = request.server.configuration();
        let limits = QueueLimits {
            messages: configuration.web_socket_queue_capacity,
            bytes: configuration.web_socket_queue_bytes,
        };
        let (sender, receiver) = mpsc::channel(INBOX);
        let shared = Shared {
            identifier: identifier.map(Arc::from),
            accepted_with,
            channel: Channel::headless(limits),
            inbox: tokio::sync::Mutex::new(receiver),
            inbox_sender: Mutex::new(Some(sender)),
            close_frame: Mutex::new(None),
            cutoff: request.server.abandoned().child_token(),
            finished: CancellationToken::new(),
            registered: AtomicBool::new(false),
            pongs: AtomicU64::new(0),
            pings: PingState::default(),
            request,
        };
        HttpWebSocket { shared: Arc::new(shared) }
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The sender of the inbox, for the task that reads the socket (once).
    pub(super) fn take_inbox_sender(&self) -> Option<mpsc::Sender<WebSocketMessage>> {
        lock(&self.shared.inbox_sender).take()
    }

    /// The identifier given to `get_web_socket`, if any.
    pub fn identifier(&self) -> Option<&str> {
        self.shared.identifier.as_deref()
    }

    /// True until the connection closes (or starts its closing handshake).
    pub fn is_active(&self) -> bool {
        !self.shared.channel.is_closed()
    }

    /// Bytes of messages handed to the connection so far (payloads, pings included; not frame headers).
    pub fn sent_content_length(&self) -> u64 {
        self.shared.channel.sent_bytes()
    }

    /// How many pongs the client has sent — browsers answer each ping of the
    /// [ping policy](Self::with_ping) with one, so a count that grows says the client is there and
    /// reading.
    pub fn pongs_received(&self) -> u64 {
        self.shared.pongs.load(Ordering::Relaxed)
    }

    /// A pong came from the client.
    pub(super) fn pong_received(&self) {
        self.shared.pongs.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages waiting for a slow client.
    pub fn queued_messages(&self) -> usize {
        self.shared.channel.queued()
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

    /// Queues `message` (text from `&str` or `String`, binary from `Vec<u8>`, `&[u8]` or `Bytes`).
    /// Returns `false` when the connection is closed, or when the client is too slow — its queue full
    /// — and has just been disconnected.
    pub fn send(&self, message: impl Into<WebSocketMessage>) -> bool {
        self.push(message.into().into_frame())
    }

    /// Like [`send`](Self::send), but when the queue is full it waits for room instead of disconnecting
    /// the client (Sisk's `SendAsync`). Returns `false` once the connection is closed.
    pub async fn send_async(&self, message: impl Into<WebSocketMessage>) -> bool {
        let frame = message.into().into_frame();
        let channel = &self.shared.channel;
        loop {
            match channel.push(frame.clone(), Some(Instant::now())) {
                Pushed::Queued => return true,
                Pushed::Closed => return false,
                Pushed::Full => channel.room(frame.len()).await,
            }
        }
    }

    /// Queues a data frame, disconnecting a client whose queue is full; false when it was not queued.
    fn push(&self, frame: Message) -> bool {
        self.queue(frame, Some(Instant::now()))
    }

    /// Queues `frame` (`sent_at` for a data frame, `None` for a ping), disconnecting a client whose
    /// queue is full; false when it was not queued.
    fn queue(&self, frame: Message, sent_at: Option<Instant>) -> bool {
        match self.shared.channel.push(frame, sent_at) {
            Pushed::Queued => true,
            Pushed::Closed => false,
            Pushed::Full => {
                self.disconnect_slow_client();
                false
            }
        }
    }

    /// Queues a frame shared by a broadcast, leaving a full queue to the caller to disconnect once
    /// every socket has been offered it.
    pub(crate) fn offer(&self, frame: Message) -> Pushed {
        self.shared.channel.push(frame, Some(Instant::now()))
    }

    /// Queues a ping frame carrying `payload`; false when the connection is closed or was disconnected.
    pub(crate) fn ping(&self, payload: Bytes) -> bool {
        self.queue(Message::Ping(payload), None)
    }

    /// Waits for the next message from the client, for at most `timeout` (`None`: no limit), as Sisk's
    /// `ReceiveMessageAsync`. Returns `None` when the time passes, when the connection is closed or the
    /// client left, or when the server shuts down; messages arrive in the order sent. Cancel a wait by
    /// dropping its future (in a `tokio::select!`, say): no message is lost by it.
    pub async fn receive_message(&self, timeout: impl Into<Option<Duration>>) -> Option<WebSocketMessage> {
        let mut inbox = self.shared.inbox.lock().await;
        match timeout.into() {
            Some(timeout) => tokio::time::timeout(timeout, inbox.recv()).await.ok().flatten(),
            None => inbox.recv().await,
        }
    }

    /// Sets up the ping policy — the same [`HttpStreamPingPolicy`] an event source has, as in Sisk:
    /// `configure` receives it with Sisk's defaults (every 5 s, `%ping%`) or with what an earlier
    /// `with_ping` set, and usually ends with `ping.start()`. Each ping is a WebSocket ping frame
    /// carrying `data_message` (cut to 125 bytes, a control frame's limit); browsers answer it with a
    /// pong on their own, and a client that stopped reading fills its queue with them and is
    /// disconnected.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # async fn handler(ws: sisk::http::websockets::HttpWebSocket) {
    /// ws.with_ping(|ping| ping.start_with("ping-message", Duration::from_secs(10)));
    /// # }
    /// ```
    pub fn with_ping(&self, configure: impl FnOnce(&mut HttpStreamPingPolicy)) {
        self.shared.pings.configure(Pinged::WebSocket(self.downgrade()), self.server().clone(), configure);
    }

    /// The ping policy's kept settings and current `start`.
    pub(crate) fn pings(&self) -> &PingState {
        &self.shared.pings
    }

    /// Closes the connection cleanly, as Sisk's `CloseAsync`: what is queued is still sent, then the
    /// close frame (1000), and the client's answer to it is awaited (a few seconds at most). Removes it
    /// from the collection and returns the response for the handler to return (its status is that of
    /// the handshake's head, which went out long ago). Closing a closed socket only waits for its end.
    pub async fn close(&self) -> HttpResponse {
        self.close_with(CloseCode::Normal, "");
        self.shared.finished.cancelled().await;
        HttpResponse::from_status(self.shared.accepted_with)
    }

    /// Starts closing with `code` unless a close was started already: the queue drains, then the frame
    /// goes out.
    pub(crate) fn close_with(&self, code: CloseCode, reason: &'static str) {
        lock(&self.shared.close_frame).get_or_insert(CloseFrame { code, reason: reason.into() });
        self.shared.channel.close(Closing::Flush);
        self.unregister();
    }

    /// The close frame to send once the queue has drained.
    pub(super) fn close_frame(&self) -> CloseFrame {
        lock(&self.shared.close_frame).clone().unwrap_or(CloseFrame { code: CloseCode::Normal, reason: "".into() })
    }

    /// Drops a client that does not read: its queue goes, and its connection is cut.
    pub(crate) fn disconnect_slow_client(&self) {
        tracing::warn!(
            identifier = ?self.identifier(),
            remote = %self.remote_address(),
            queued = self.queued_messages(),
            "WebSocket client is not reading and its queue is full; disconnecting it"
        );
        self.cut_off();
    }

    /// Ends the connection at once, with no closing handshake.
    pub(super) fn cut_off(&self) {
        self.shared.channel.close(Closing::Discard);
        self.shared.cutoff.cancel();
        self.unregister();
    }

    /// The request that opened the socket is over, as `outcome` says: the socket closes with 1000, or
    /// with 1011 when the handler failed.
    pub(crate) fn end_of_request(&self, outcome: RequestOutcome) {
        match outcome {
            RequestOutcome::Completed => self.close_with(CloseCode::Normal, ""),
            RequestOutcome::Failed => self.close_with(CloseCode::Error, "the server's handler failed"),
        }
    }

    /// Marks the socket as in the collection (so that closing it takes it out).
    pub(super) fn mark_registered(&self) {
        self.shared.registered.store(true, Ordering::Release);
    }

    fn unregister(&self) {
        if self.shared.registered.swap(false, Ordering::AcqRel) {
            self.server().web_sockets().unregister(self);
        }
    }

    /// The task that drives the socket has ended, or never started: nothing more goes in or out.
    pub(crate) fn finished(&self) {
        self.shared.channel.close(Closing::Discard);
        self.unregister();
        self.shared.finished.cancel();
    }

    /// A handle that does not keep the socket alive.
    pub(crate) fn downgrade(&self) -> WeakWebSocket {
        WeakWebSocket(Arc::downgrade(&self.shared))
    }

    /// True when both handles are the same connection.
    pub fn ptr_eq(&self, other: &HttpWebSocket) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for HttpWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpWebSocket")
            .field("identifier", &self.identifier())
            .field("active", &self.is_active())
            .field("remote_address", &self.remote_address())
            .finish()
    }
}
