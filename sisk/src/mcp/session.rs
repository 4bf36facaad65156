//! Sessions: what the server keeps of each client between its POSTs — the protocol version agreed at
//! `initialize`, the client's capabilities, its logging level and subscriptions, the requests it has in
//! flight (so a cancellation reaches them) and the server's own requests to it waiting for their
//! answers — and the streams each session's messages travel on, which are streams of the server's
//! event log: a message is published for the stream's identifier, so a client that lost a stream
//! resumes it with `Last-Event-ID`, on the same log that resumes event sources.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::http::streams::{Audience, Event, HttpEventSourceCollection, INTERNAL_MARK};
use crate::http::HttpServer;
use crate::mcp::json_rpc;
use crate::sync::lock;

/// How many finished request streams a session remembers, so that a resume after the end still replays.
const FINISHED_STREAMS_KEPT: usize = 64;

/// The logging levels of `logging/setLevel` and `notifications/message`, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum McpLogLevel {
    /// Debugging detail.
    Debug,
    /// Information.
    Info,
    /// Normal but significant.
    Notice,
    /// A warning.
    Warning,
    /// An error.
    Error,
    /// A critical condition.
    Critical,
    /// Action must be taken at once.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl McpLogLevel {
    const ALL: [McpLogLevel; 8] = [
        McpLogLevel::Debug,
        McpLogLevel::Info,
        McpLogLevel::Notice,
        McpLogLevel::Warning,
        McpLogLevel::Error,
        McpLogLevel::Critical,
        McpLogLevel::Alert,
        McpLogLevel::Emergency,
    ];

    /// The level's name on the wire (`"warning"`).
    pub fn as_str(self) -> &'static str {
        match self {
            McpLogLevel::Debug => "debug",
            McpLogLevel::Info => "info",
            McpLogLevel::Notice => "notice",
            McpLogLevel::Warning => "warning",
            McpLogLevel::Error => "error",
            McpLogLevel::Critical => "critical",
            McpLogLevel::Alert => "alert",
            McpLogLevel::Emergency => "emergency",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

/// A stream of the event log that carries one session's messages: the answer to one POST (with what
/// the server sent while it ran), or the session's GET stream.
#[derive(Clone)]
pub(crate) struct Outbound {
    identifier: Arc<str>,
    events: HttpEventSourceCollection,
}

impl Outbound {
    pub(crate) fn identifier(&self) -> &Arc<str> {
        &self.identifier
    }

    /// Publishes `message` for this stream: queued now for its connection if one is open here, kept in
    /// the log for the client that resumes it. False when the log refused it.
    pub(crate) fn send(&self, message: &Value) -> bool {
        let event = Event::new().event("message").data(message.to_string());
        self.publish(&event)
    }

    /// [`send`](Self::send) that waits until the message is delivered (on a backplane, until this node
    /// read it back), so that what follows it on this node comes after it.
    pub(crate) async fn send_delivered(&self, message: &Value) -> bool {
        let event = Event::new().event("message").data(message.to_string());
        let published = self.events.publish_async(Audience::Identifier(self.identifier.clone()), &event).await;
        published.map_err(|error| tracing::warn!(%error, "an MCP message was not accepted by the event log")).is_ok()
    }

    /// The first event of a stream: an id (the cursor its client resumes from), the `retry` its client
    /// waits before reconnecting, and empty data.
    pub(crate) fn prime(&self, retry: Duration) -> bool {
        self.publish(&Event::new().retry(retry).data(""))
    }

    fn publish(&self, event: &Event) -> bool {
        match self.events.publish(Audience::Identifier(self.identifier.clone()), event) {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "an MCP message was not accepted by the event log");
                false
            }
        }
    }
}

/// Where one request's messages go: its stream while the client keeps it (or resumes it), and a way to
/// end the connection that carries it without ending the request (SSE polling).
#[derive(Clone)]
pub(crate) struct RequestStream {
    pub(crate) outbound: Outbound,
    pub(crate) done: CancellationToken,
    pub(crate) disconnect: Arc<Mutex<Option<crate::http::streams::LocalEventSource>>>,
}

impl RequestStream {
    /// Ends the connection carrying the stream now (its client reconnects after the `retry` it was
    /// told, and resumes from its last id); the request goes on.
    pub(crate) fn close_connection(&self) {
        if let Some(source) = lock(&self.disconnect).take() {
            let _ = source.close();
        }
    }
}

#[derive(Default)]
struct SessionState {
    log_level: Option<McpLogLevel>,
    subscriptions: HashSet<String>,
    /// The server's requests to the client, by id, waiting for the answer.
    pending: HashMap<String, oneshot::Sender<Result<Value, Value>>>,
    /// The client's requests being served, by id, for `notifications/cancelled`.
    in_flight: HashMap<String, CancellationToken>,
    /// The request streams, newest last; finished ones are forgotten oldest first.
    streams: VecDeque<RequestStream>,
    next_stream: u64,
    next_request: u64,
    last_used: Option<Instant>,
}

/// One client's session.
pub(crate) struct Session {
    id: String,
    protocol_version: String,
    client_capabilities: Value,
    events: HttpEventSourceCollection,
    state: Mutex<SessionState>,
    ended: CancellationToken,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("id", &self.id).field("protocol_version", &self.protocol_version).finish()
    }
}

/// The text of a JSON-RPC id, as a map key (`7` and `"7"` are different ids).
pub(crate) fn id_key(id: &Value) -> String {
    id.to_string()
}

impl Session {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// True when the client said, at `initialize`, that it can answer `capability` requests
    /// (`"sampling"`, `"elicitation"`, `"roots"`).
    pub(crate) fn client_can(&self, capability: &str) -> bool {
        self.client_capabilities.get(capability).is_some()
    }

    /// Cancelled when the session ends (`DELETE`, expiry, shutdown).
    pub(crate) fn ended(&self) -> &CancellationToken {
        &self.ended
    }

    fn prefix(&self) -> String {
        format!("{INTERNAL_MARK}mcp/{}/", self.id)
    }

    fn outbound(&self, name: &str) -> Outbound {
        Outbound { identifier: format!("{}{name}", self.prefix()).into(), events: self.events.clone() }
    }

    /// The session's GET stream, where what belongs to no request goes.
    pub(crate) fn standalone(&self) -> Outbound {
        self.outbound("get")
    }

    /// A new stream for the answer to one request.
    pub(crate) fn new_request_stream(&self) -> RequestStream {
        let mut state = lock(&self.state);
        state.next_stream += 1;
        let stream = RequestStream {
            outbound: self.outbound(&state.next_stream.to_string()),
            done: CancellationToken::new(),
            disconnect: Arc::default(),
        };
        state.streams.push_back(stream.clone());
        while state.streams.len() > FINISHED_STREAMS_KEPT {
            match state.streams.iter().position(|s| s.done.is_cancelled()) {
                Some(finished) => drop(state.streams.remove(finished)),
                None => break,
            }
        }
        stream
    }

    /// What stream `identifier` (found from a client's `Last-Event-ID`) is to this session: a request
    /// stream, the GET stream, or none of its own.
    pub(crate) fn stream_named(&self, identifier: &str) -> Option<Resumable> {
        let own = identifier.strip_prefix(&self.prefix())?;
        if own == "get" {
            return Some(Resumable::Standalone(self.standalone()));
        }
        let state = lock(&self.state);
        match state.streams.iter().find(|s| &*s.outbound.identifier == identifier) {
            Some(stream) => Some(Resumable::Request(stream.clone())),
            None => Some(Resumable::Finished(self.outbound(own))),
        }
    }

    pub(crate) fn touch(&self) {
        lock(&self.state).last_used = Some(Instant::now());
    }

    fn idle_since(&self) -> Option<Instant> {
        lock(&self.state).last_used
    }

    pub(crate) fn set_log_level(&self, level: McpLogLevel) {
        lock(&self.state).log_level = Some(level);
    }

    /// True when a message at `level` is to be sent (the client set no level, or a lower one).
    pub(crate) fn logs(&self, level: McpLogLevel) -> bool {
        lock(&self.state).log_level.is_none_or(|least| level >= least)
    }

    pub(crate) fn subscribe(&self, uri: &str) {
        lock(&self.state).subscriptions.insert(uri.to_owned());
    }

    pub(crate) fn unsubscribe(&self, uri: &str) {
        lock(&self.state).subscriptions.remove(uri);
    }

    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.state).subscriptions.contains(uri)
    }

    /// Marks request `id` as in flight until the guard is dropped; its token is cancelled by
    /// `notifications/cancelled`.
    pub(crate) fn begin_request(self: &Arc<Self>, id: &Value) -> InFlight {
        let cancelled = self.ended.child_token();
        lock(&self.state).in_flight.insert(id_key(id), cancelled.clone());
        InFlight { session: self.clone(), id: id.clone(), cancelled }
    }

    pub(crate) fn cancel_request(&self, id: &Value) {
        if let Some(token) = lock(&self.state).in_flight.remove(&id_key(id)) {
            token.cancel();
        }
    }

    /// A new request of the server's, waiting for its answer (the receiver) until the guard is dropped.
    pub(crate) fn new_outgoing_request(&self) -> (Outgoing<'_>, oneshot::Receiver<Result<Value, Value>>) {
        let (sender, receiver) = oneshot::channel();
        let mut state = lock(&self.state);
        state.next_request += 1;
        let id = Value::String(format!("sisk-{}", state.next_request));
        state.pending.insert(id_key(&id), sender);
        (Outgoing { session: self, id }, receiver)
    }

    /// Hands the client's answer to the request of the server's that waits for it; false when none does.
    pub(crate) fn answer(&self, id: &Value, outcome: Result<Value, Value>) -> bool {
        match lock(&self.state).pending.remove(&id_key(id)) {
            Some(waiting) => waiting.send(outcome).is_ok(),
            None => false,
        }
    }

    /// Sends a notification on the GET stream.
    pub(crate) fn notify(&self, method: &str, params: Value) {
        self.standalone().send(&json_rpc::notification(method, params));
    }
}

/// A request of the client's being served: it leaves the session's requests in flight when dropped,
/// whether it was answered, cancelled, or dropped with its connection.
pub(crate) struct InFlight {
    session: Arc<Session>,
    id: Value,
    pub(crate) cancelled: CancellationToken,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.session.state).in_flight.remove(&id_key(&self.id));
    }
}

/// A request of the server's to the client: it stops waiting for an answer when dropped.
pub(crate) struct Outgoing<'a> {
    session: &'a Session,
    pub(crate) id: Value,
}

impl Drop for Outgoing<'_> {
    fn drop(&mut self) {
        lock(&self.session.state).pending.remove(&id_key(&self.id));
    }
}

/// A stream a client may resume, as its session knows it.
pub(crate) enum Resumable {
    /// The GET stream: it stays open.
    Standalone(Outbound),
    /// A request stream: it closes once its request is answered.
    Request(RequestStream),
    /// A request stream the session no longer tracks: its request was answered long ago; the replay
    /// is all there is.
    Finished(Outbound),
}

/// The sessions of one provider.
#[derive(Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// A new session for a client that initialized with `protocol_version` and `client_capabilities`.
    pub(crate) fn create(
        &self,
        server: &HttpServer,
        protocol_version: String,
        client_capabilities: Value,
        idle_timeout: Duration,
    ) -> Result<Arc<Session>, crate::Error> {
        let session = Arc::new(Session {
            id: new_session_id()?,
            protocol_version,
            client_capabilities,
            events: server.event_sources().clone(),
            state: Mutex::new(SessionState { last_used: Some(Instant::now()), ..SessionState::default() }),
            ended: server.stopping().child_token(),
        });
        let expired = {
            let mut open = lock(&self.open);
            let now = Instant::now();
            let expired: Vec<String> = open
                .iter()
                .filter(|(_, s)| s.idle_since().is_some_and(|at| now.duration_since(at) > idle_timeout))
                .map(|(id, _)| id.clone())
                .collect();
            let expired: Vec<Arc<Session>> = expired.iter().filter_map(|id| open.remove(id)).collect();
            open.insert(session.id.clone(), session.clone());
            expired
        };
        for session in expired {
            session.ended.cancel();
        }
        Ok(session)
    }

    /// The open session `id`, unless it has been idle longer than `idle_timeout` (then it ends).
    pub(crate) fn get(&self, id: &str, idle_timeout: Duration) -> Option<Arc<Session>> {
        let session = lock(&self.open).get(id).cloned()?;
        if session.idle_since().is_some_and(|at| at.elapsed() > idle_timeout) {
            self.end(id);
            return None;
        }
        Some(session)
    }

    /// Ends session `id`; false when there was none.
    pub(crate) fn end(&self, id: &str) -> bool {
        let removed = lock(&self.open).remove(id);
        removed.map(|session| session.ended.cancel()).is_some()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        lock(&self.open).values().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.open).len()
    }
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").field("open", &self.len()).finish()
    }
}

/// 128 random bits in hex: visible ASCII, as `Mcp-Session-Id` must be, and not to be guessed.
fn new_session_id() -> Result<String, crate::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| crate::Error::internal(std::io::Error::other(e.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Tells the sessions of a provider that one of its lists changed (`notifications/…/list_changed`).
#[derive(Default)]
pub(crate) struct ListChanged {
    sessions: OnceLock<Weak<Sessions>>,
}

impl ListChanged {
    /// Sessions to tell from now on.
    pub(crate) fn tell(&self, sessions: &Arc<Sessions>) {
        let _ = self.sessions.set(Arc::downgrade(sessions));
    }

    /// The sessions told, once a provider serves.
    pub(crate) fn sessions(&self) -> Option<Arc<Sessions>> {
        self.sessions.get().and_then(Weak::upgrade)
    }

    pub(crate) fn fire(&self, method: &str) {
        let Some(sessions) = self.sessions() else {
            return;
        };
        for session in sessions.all() {
            session.notify(method, Value::Object(Default::default()));
        }
    }
}

impl fmt::Debug for ListChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListChanged")
    }
}
