//! Sessions: what the server keeps of each client between its POSTs — the protocol version agreed at
//! `initialize`, the client's capabilities, its logging level and subscriptions, the requests it has in
//! flight (so a cancellation reaches them) and the server's own requests to it waiting for their
//! answers — and the streams each session's messages travel on, which are streams of the server's
//! event log: a message is published for the stream's identifier, so a client that lost a stream
//! resumes it with `Last-Event-ID`, on the same log that resumes event sources.
//!
//! On a backplane that keeps [shared records](crate::backplane::SharedRecords) (Redis), what a session
//! is — its protocol version, the client's capabilities, its logging level and subscriptions — is a
//! record on the broker, with the session's expiry: any node serves any session, loading it on its first
//! request there and reading it again (which restarts its expiry) on every request. What runs stays on
//! the node that runs it: a cancellation, or an answer to one of the server's own requests, that comes
//! to another node is sent on through the log to every node, and the one that runs the request (or waits
//! for the answer) takes it. Without such a backplane the records are this node's own map.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::backplane::SharedRecords;
use crate::http::streams::{Audience, Event, HttpEventSourceCollection, INTERNAL_MARK};
use crate::http::HttpServer;
use crate::mcp::json_rpc;
use crate::mcp::listen::Listeners;
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

    /// Publishes `message` as the stream's last (a request's answer): its connection closes once it is
    /// sent, on whichever node holds it, and a resume that replays it closes there too. Waits until the
    /// message is delivered (on a backplane, until this node read it back), so that what follows it on
    /// this node comes after it.
    pub(crate) async fn finish(&self, message: &Value) -> bool {
        let event = Event::new().event("message").data(message.to_string());
        let audience = Audience::Identifier(self.identifier.clone());
        let published = self.events.publish_and_close_async(audience, &event).await;
        published.map_err(|error| tracing::warn!(%error, "an MCP message was not accepted by the event log")).is_ok()
    }

    /// Closes the stream's connections, on every node, with an event of no data.
    pub(crate) fn close_everywhere(&self) {
        let audience = Audience::Identifier(self.identifier.clone());
        if let Err(error) = self.events.publish_and_close(audience, &Event::new().data("")) {
            tracing::debug!(%error, "an MCP stream could not be closed on the other nodes");
        }
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
    /// What the record holds (kept here too, and read again from the record on every request).
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

/// One client's session, as this node knows it.
pub(crate) struct Session {
    id: String,
    protocol_version: String,
    client_capabilities: Value,
    events: HttpEventSourceCollection,
    /// Where the session's record is, and its key there.
    record: Record,
    /// This node's part of the names of the request streams it opens, so no two nodes name one alike.
    stream_tag: Arc<str>,
    /// Where the nodes of its provider tell one another about their sessions.
    control: Arc<str>,
    state: Mutex<SessionState>,
    ended: CancellationToken,
}

/// The fields of a session's record.
const VERSION_FIELD: &str = "version";
const CAPABILITIES_FIELD: &str = "capabilities";
const LEVEL_FIELD: &str = "level";
const SUBSCRIPTIONS_FIELD: &str = "subscriptions";

/// A session's record: on the backplane's shared records, or only in this node's map.
#[derive(Clone)]
struct Record {
    shared: Option<Arc<dyn SharedRecords>>,
    key: String,
}

impl Record {
    /// The record of session `id` of the provider `scope`, on the records of `events`' backplane.
    fn of(events: &HttpEventSourceCollection, scope: &str, id: &str) -> Record {
        Record { shared: events.shared_records(), key: format!("mcp:{scope}:{id}") }
    }

    /// Writes one field; a failure is logged (the node goes on with what it knows).
    async fn write(&self, field: &str, value: String) {
        if let Some(shared) = &self.shared {
            if let Err(error) = shared.clone().set_field(self.key.clone(), field.to_owned(), value).await {
                tracing::warn!(%error, key = self.key, "an MCP session's record was not updated");
            }
        }
    }
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
    /// The revision the session speaks.
    pub(crate) fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

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

    /// The fields of the session's record.
    fn fields(&self) -> Vec<(String, String)> {
        let state = lock(&self.state);
        let mut fields = vec![
            (VERSION_FIELD.to_owned(), self.protocol_version.clone()),
            (CAPABILITIES_FIELD.to_owned(), self.client_capabilities.to_string()),
            (SUBSCRIPTIONS_FIELD.to_owned(), subscriptions_field(&state.subscriptions)),
        ];
        if let Some(level) = state.log_level {
            fields.push((LEVEL_FIELD.to_owned(), level.as_str().to_owned()));
        }
        fields
    }

    /// Takes what another node may have changed in the record: the logging level and subscriptions.
    fn refresh(&self, fields: &HashMap<String, String>) {
        let mut state = lock(&self.state);
        state.log_level = fields.get(LEVEL_FIELD).and_then(|name| McpLogLevel::parse(name));
        state.subscriptions =
            fields.get(SUBSCRIPTIONS_FIELD).and_then(|list| serde_json::from_str(list).ok()).unwrap_or_default();
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
            outbound: self.outbound(&format!("{}-{}", self.stream_tag, state.next_stream)),
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
    /// stream of this node's, the GET stream, another request stream (of another node, or one this node
    /// forgot), or none of its own.
    pub(crate) fn stream_named(&self, identifier: &str) -> Option<Resumable> {
        let own = identifier.strip_prefix(&self.prefix())?;
        if own == "get" {
            return Some(Resumable::Standalone(self.standalone()));
        }
        let state = lock(&self.state);
        match state.streams.iter().find(|s| &*s.outbound.identifier == identifier) {
            Some(stream) => Some(Resumable::Request(stream.clone())),
            None => Some(Resumable::Elsewhere(self.outbound(own))),
        }
    }

    pub(crate) fn touch(&self) {
        lock(&self.state).last_used = Some(Instant::now());
    }

    fn idle_since(&self) -> Option<Instant> {
        lock(&self.state).last_used
    }

    pub(crate) async fn set_log_level(&self, level: McpLogLevel) {
        lock(&self.state).log_level = Some(level);
        self.record.write(LEVEL_FIELD, level.as_str().to_owned()).await;
    }

    /// True when a message at `level` is to be sent (the client set no level, or a lower one).
    pub(crate) fn logs(&self, level: McpLogLevel) -> bool {
        lock(&self.state).log_level.is_none_or(|least| level >= least)
    }

    pub(crate) async fn subscribe(&self, uri: &str) {
        self.change_subscriptions(|subscriptions| subscriptions.insert(uri.to_owned())).await;
    }

    pub(crate) async fn unsubscribe(&self, uri: &str) {
        self.change_subscriptions(|subscriptions| subscriptions.remove(uri)).await;
    }

    /// Changes the subscriptions, in the record too, and tells the other nodes (the one that holds
    /// the GET stream sends the updates).
    async fn change_subscriptions(&self, change: impl FnOnce(&mut HashSet<String>) -> bool) {
        let list = {
            let mut state = lock(&self.state);
            change(&mut state.subscriptions);
            subscriptions_field(&state.subscriptions)
        };
        self.record.write(SUBSCRIPTIONS_FIELD, list.clone()).await;
        self.tell_other_nodes(json!({ "session": self.id, "subscriptions": list }));
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

    /// Cancels the client's request `id`: here, or on the node that runs it.
    pub(crate) fn cancel_request(&self, id: &Value) {
        if !self.cancel_here(id) {
            self.tell_other_nodes(json!({ "session": self.id, "cancel": id }));
        }
    }

    fn cancel_here(&self, id: &Value) -> bool {
        let token = lock(&self.state).in_flight.remove(&id_key(id));
        token.map(|token| token.cancel()).is_some()
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

    /// Hands the client's answer to the request of the server's that waits for it, here or on another
    /// node; false when none does here and there are no other nodes.
    pub(crate) fn answer(&self, id: &Value, outcome: Result<Value, Value>) -> bool {
        let waiting = lock(&self.state).pending.remove(&id_key(id));
        if let Some(waiting) = waiting {
            return waiting.send(outcome).is_ok();
        }
        let (field, value) = match outcome {
            Ok(result) => ("result", result),
            Err(error) => ("error", error),
        };
        self.tell_other_nodes(json!({ "session": self.id, "answer": id, field: value }))
    }

    fn answer_here(&self, id: &Value, outcome: Result<Value, Value>) {
        if let Some(waiting) = lock(&self.state).pending.remove(&id_key(id)) {
            let _ = waiting.send(outcome);
        }
    }

    /// Sends `message` to every node of the provider (this one too, which ignores what it does not
    /// run); false without shared records (there is no other node).
    fn tell_other_nodes(&self, message: Value) -> bool {
        if self.record.shared.is_none() {
            return false;
        }
        let event = Event::new().data(message.to_string());
        match self.events.publish(Audience::Identifier(self.control.clone()), &event) {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, session = self.id, "an MCP message to the other nodes was not sent");
                false
            }
        }
    }

    /// What another node tells this one about this session.
    fn take_message(&self, message: &Value) {
        if let Some(list) = message.get("subscriptions").and_then(Value::as_str) {
            lock(&self.state).subscriptions = serde_json::from_str(list).unwrap_or_default();
        }
        if let Some(id) = message.get("cancel") {
            self.cancel_here(id);
        }
        if let Some(id) = message.get("answer") {
            let outcome = match message.get("error") {
                Some(error) => Err(error.clone()),
                None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
            };
            self.answer_here(id, outcome);
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

/// The subscriptions as a record's field: a JSON array, sorted.
fn subscriptions_field(subscriptions: &HashSet<String>) -> String {
    let mut list: Vec<&String> = subscriptions.iter().collect();
    list.sort();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
}

/// A stream a client may resume, as its session knows it.
pub(crate) enum Resumable {
    /// The GET stream: it stays open.
    Standalone(Outbound),
    /// A request stream of this node's: it closes once its request is answered.
    Request(RequestStream),
    /// A request stream this node does not run (another node does, or did; or it was answered long
    /// ago): it closes when its answer is sent, or replayed.
    Elsewhere(Outbound),
}

/// The sessions of one provider that this node knows: those it created, and those of other nodes it
/// loaded from their records.
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Arc<Session>>>,
    /// The stateless clients' listen streams this node holds (revision 2026-07-28).
    pub(crate) listeners: Arc<Listeners>,
    /// This node's part of the request streams' names.
    stream_tag: Arc<str>,
    /// Where this node reads what the other nodes tell it, once it does (on shared records).
    cluster: OnceLock<Cluster>,
}

/// The nodes of a provider on shared records, as one of them sees them.
struct Cluster {
    events: HttpEventSourceCollection,
    control: Arc<str>,
}

impl Default for Sessions {
    fn default() -> Self {
        let tag = new_session_id().map(|id| id[..8].to_owned()).unwrap_or_else(|_| format!("{:x}", std::process::id()));
        Sessions { open: Mutex::default(), listeners: Arc::default(), stream_tag: tag.into(), cluster: OnceLock::new() }
    }
}

/// The identifier under which the nodes of provider `scope` tell one another about its sessions.
fn control_identifier(scope: &str) -> Arc<str> {
    format!("{INTERNAL_MARK}mcp-control/{scope}").into()
}

/// Why a session could not be had: it is not (404), or its record could not be reached (503).
pub(crate) enum SessionLookup {
    Unknown,
    Unreachable(crate::Error),
}

impl Sessions {
    fn session(
        &self,
        server: &HttpServer,
        scope: &str,
        id: String,
        version: String,
        capabilities: Value,
    ) -> Arc<Session> {
        let events = server.event_sources();
        Arc::new(Session {
            record: Record::of(events, scope, &id),
            id,
            protocol_version: version,
            client_capabilities: capabilities,
            events: events.clone(),
            stream_tag: self.stream_tag.clone(),
            control: control_identifier(scope),
            state: Mutex::new(SessionState { last_used: Some(Instant::now()), ..SessionState::default() }),
            ended: server.stopping().child_token(),
        })
    }

    /// On shared records, starts (once) reading what the other nodes of provider `scope` tell this one
    /// about its sessions, until the server stops.
    pub(crate) fn listen(self: &Arc<Self>, server: &HttpServer, scope: &str) {
        let events = server.event_sources();
        if events.shared_records().is_none() || self.cluster.get().is_some() {
            return;
        }
        let control = control_identifier(scope);
        if self.cluster.set(Cluster { events: events.clone(), control: control.clone() }).is_err() {
            return;
        }
        let mut messages = events.listen(control);
        let sessions = Arc::downgrade(self);
        let stopping = server.stopping().clone();
        tokio::spawn(async move {
            loop {
                let text = tokio::select! {
                    text = messages.recv() => text,
                    () = stopping.cancelled() => None,
                };
                let (Some(text), Some(sessions)) = (text, sessions.upgrade()) else {
                    break;
                };
                let Ok(message) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if let Some(uri) = message.get("updated").and_then(Value::as_str) {
                    if message.get("from").and_then(Value::as_str) != Some(&sessions.stream_tag) {
                        sessions.tell_updated(uri);
                    }
                    continue;
                }
                let known =
                    message.get("session").and_then(Value::as_str).and_then(|id| lock(&sessions.open).get(id).cloned());
                if let Some(session) = known {
                    session.take_message(&message);
                }
            }
        });
    }

    /// A new session of the provider `scope` for a client that initialized with `protocol_version` and
    /// `client_capabilities`; its record is written before it is answered.
    pub(crate) async fn create(
        &self,
        server: &HttpServer,
        scope: &str,
        protocol_version: String,
        client_capabilities: Value,
        idle_timeout: Duration,
    ) -> Result<Arc<Session>, crate::Error> {
        let session = self.session(server, scope, new_session_id()?, protocol_version, client_capabilities);
        if let Some(shared) = &session.record.shared {
            shared.clone().create(session.record.key.clone(), session.fields(), idle_timeout).await?;
        }
        self.keep(session.clone(), idle_timeout);
        Ok(session)
    }

    /// Puts `session` in the map, ending those idle longer than `idle_timeout` (here: a record on the
    /// broker expires by itself).
    fn keep(&self, session: Arc<Session>, idle_timeout: Duration) {
        let expired = {
            let mut open = lock(&self.open);
            let now = Instant::now();
            let expired: Vec<String> = open
                .iter()
                .filter(|(_, s)| s.idle_since().is_some_and(|at| now.duration_since(at) > idle_timeout))
                .map(|(id, _)| id.clone())
                .collect();
            let expired: Vec<Arc<Session>> = expired.iter().filter_map(|id| open.remove(id)).collect();
            open.insert(session.id.clone(), session);
            expired
        };
        for session in expired {
            session.ended.cancel();
        }
    }

    /// The session `id` of the provider `scope`, used now: on shared records, read from its record
    /// (which restarts its expiry) and loaded here if this node did not know it; here, unless it has
    /// been idle longer than `idle_timeout` (then it ends).
    pub(crate) async fn get(
        &self,
        server: &HttpServer,
        scope: &str,
        id: &str,
        idle_timeout: Duration,
    ) -> Result<Arc<Session>, SessionLookup> {
        let known = lock(&self.open).get(id).cloned();
        let Some(shared) = server.event_sources().shared_records() else {
            let session = known.ok_or(SessionLookup::Unknown)?;
            if session.idle_since().is_some_and(|at| at.elapsed() > idle_timeout) {
                self.forget(id);
                return Err(SessionLookup::Unknown);
            }
            session.touch();
            return Ok(session);
        };
        let key = Record::of(server.event_sources(), scope, id).key;
        let fields = shared.touch(key, idle_timeout).await.map_err(SessionLookup::Unreachable)?;
        let Some(fields) = fields else {
            self.forget(id);
            return Err(SessionLookup::Unknown);
        };
        let session = match known {
            Some(session) => session,
            None => {
                let version = fields.get(VERSION_FIELD).cloned().ok_or(SessionLookup::Unknown)?;
                let capabilities = fields
                    .get(CAPABILITIES_FIELD)
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_else(|| Value::Object(Default::default()));
                let session = self.session(server, scope, id.to_owned(), version, capabilities);
                tracing::debug!(session = id, "an MCP session of another node, loaded from its record");
                self.keep(session.clone(), idle_timeout);
                session
            }
        };
        session.refresh(&fields);
        session.touch();
        Ok(session)
    }

    /// Ends session `id` everywhere: its record goes, its streams close on every node. False when
    /// there was none.
    pub(crate) async fn end(&self, session: &Session) -> Result<bool, crate::Error> {
        let removed = match &session.record.shared {
            Some(shared) => shared.clone().remove(session.record.key.clone()).await?,
            None => lock(&self.open).contains_key(&session.id),
        };
        if session.record.shared.is_some() {
            session.standalone().close_everywhere();
        }
        self.forget(&session.id);
        Ok(removed)
    }

    /// Ends what this node holds of session `id`.
    fn forget(&self, id: &str) {
        if let Some(session) = lock(&self.open).remove(id) {
            session.ended.cancel();
        }
    }

    /// Tells the sessions subscribed to `uri` that it changed: here, and on the other nodes (each tells
    /// those whose GET stream it holds). Returns how many this node told.
    pub(crate) fn notify_updated(&self, uri: &str) -> usize {
        let told = self.tell_updated(uri);
        if let Some(cluster) = self.cluster.get() {
            let message = json!({ "updated": uri, "from": &*self.stream_tag });
            let event = Event::new().data(message.to_string());
            if let Err(error) = cluster.events.publish(Audience::Identifier(cluster.control.clone()), &event) {
                tracing::warn!(%error, uri, "a resource update was not sent to the other nodes");
            }
        }
        told
    }

    /// Tells the subscribed sessions this node streams to (all it knows, without other nodes), and its
    /// listen streams subscribed to `uri`.
    fn tell_updated(&self, uri: &str) -> usize {
        let streams_here = |session: &Session| match self.cluster.get() {
            Some(cluster) => cluster.events.holds_here(session.standalone().identifier()),
            None => true,
        };
        let mut told = 0;
        for session in self.all().iter().filter(|session| session.is_subscribed(uri) && streams_here(session)) {
            session.notify("notifications/resources/updated", json!({ "uri": uri }));
            told += 1;
        }
        told + self.listeners.updated(uri)
    }

    /// The sessions this node knows.
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
        sessions.listeners.list_changed(method);
    }
}

impl fmt::Debug for ListChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListChanged")
    }
}
