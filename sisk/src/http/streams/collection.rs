//! [`HttpEventSourceCollection`]: the public face of a server's identified event-source connections —
//! find them by identifier or predicate, publish to them through the event log, close them. What it
//! holds lives by role beside it: the [registry](super::registry) of this node's connections,
//! [publishing](super::publishing) (the log and the ordered fan-out), and, on a backplane, the
//! [cluster view](crate::backplane) of the other nodes' connections.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::backplane::cluster_view::{ClusterView, PresenceAction};
use crate::backplane::{Backplane, LogEntry, PresenceChange, PresenceEntry};
use crate::http::server::WeakServer;
use crate::http::streams::ping_policy::PingSchedule;
use crate::http::streams::publishing::Publisher;
use crate::http::streams::registry::{Hook, Registry};
use crate::http::streams::{
    is_internal, Audience, Event, EventId, EventLogOptions, HttpRequestEventSource, IdentifierPolicy, LocalEventSource,
    Position, Published, RemoteEventSource, ResumeState,
};
use crate::Error;

/// The open connections that have an identifier; reach it with
/// [`server.event_sources()`](crate::http::HttpServer::event_sources).
///
/// A connection enters when `get_event_source("id")` opens it and leaves the moment it closes. What a
/// new connection with an identifier already present does — stand beside the old one (the default),
/// replace it as Sisk does, or be refused — is the server's [`IdentifierPolicy`].
///
/// Every publishing call answers what is known when it returns ([`Published`]): an `Err` when the
/// event was sent to no one (the broker is down), else its id and how many of this node's connections
/// took it, where those are known.
///
/// ```
/// # use sisk::prelude::*;
/// # fn demo(server: &HttpServer) -> Result<(), sisk::Error> {
/// if let Some(evs) = server.event_sources().get_by_identifier("my-index-connection") {
///     // the connection is still alive
///     evs.send("Olá novamente!");
/// }
///
/// let evs: Vec<HttpRequestEventSource> =
///     server.event_sources().find(|es| es.starts_with("my-connection-"));
/// for e in evs {
///     e.send("Transmitindo para todas as fontes de eventos que começam com 'my-connection-'");
/// }
///
/// // The same, encoding the event once for every connection:
/// let published = server.event_sources().broadcast_where(|id| id.starts_with("my-connection-"), &Event::new().data("hi"))?;
/// # let _ = published.reached;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpEventSourceCollection {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    policy: IdentifierPolicy,
    publisher: Publisher,
    cluster: ClusterView,
    /// The server this collection belongs to, to make handles on remote connections.
    server: OnceLock<WeakServer>,
    /// The pings of this server's streams, identified or not.
    pings: PingSchedule,
}

impl HttpEventSourceCollection {
    pub(crate) fn new(log: EventLogOptions, policy: IdentifierPolicy, backplane: Option<Arc<dyn Backplane>>) -> Self {
        let inner = Inner {
            registry: Registry::default(),
            policy,
            publisher: Publisher::new(log, backplane),
            cluster: ClusterView::default(),
            server: OnceLock::new(),
            pings: PingSchedule::default(),
        };
        HttpEventSourceCollection { inner: Arc::new(inner) }
    }

    /// The pings of this server's streams.
    pub(crate) fn pings(&self) -> &PingSchedule {
        &self.inner.pings
    }

    pub(crate) fn belongs_to(&self, server: WeakServer) {
        let _ = self.inner.server.set(server);
    }

    /// The backplane the log runs on, if any.
    pub(crate) fn backplane(&self) -> Option<&Arc<dyn Backplane>> {
        self.inner.publisher.backplane()
    }

    /// The records the backplane keeps for every node, if it keeps any.
    #[cfg(feature = "mcp")]
    pub(crate) fn shared_records(&self) -> Option<Arc<dyn crate::backplane::SharedRecords>> {
        self.backplane().and_then(|backplane| backplane.clone().records())
    }

    /// True when a connection of this node is open under `identifier` (one of the framework's own too).
    #[cfg(feature = "mcp")]
    pub(crate) fn holds_here(&self, identifier: &str) -> bool {
        self.inner.registry.contains(identifier)
    }

    /// The data of every entry for `identifier`, one of the framework's own that no connection reads,
    /// that the backplane hands this node from now on: how nodes send one another messages.
    #[cfg(any(feature = "mcp", feature = "websockets"))]
    pub(crate) fn listen(&self, identifier: Arc<str>) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        self.inner.publisher.listen(identifier)
    }

    /// Tells the other nodes, if there are any, about a change to one of this node's connections.
    fn announce(&self, change: PresenceChange, source: &LocalEventSource) {
        if let (Some(backplane), Some(identifier)) = (self.backplane(), source.identifier()) {
            let node = Arc::from(backplane.node());
            let identifier = Arc::from(identifier);
            backplane.announce(PresenceEntry { change, identifier, node, connection: source.connection() });
        }
    }

    /// Puts an identified connection in the collection, after queueing what the log has for it: the
    /// events it missed since `cursor` (its `Last-Event-ID`), or the stale signal; a replay that ends
    /// with an event published to close its streams closes this one too. Returns how it was resumed, or
    /// the refusal of [`IdentifierPolicy::RejectNew`].
    pub(crate) fn register(&self, source: LocalEventSource, cursor: Option<&str>) -> Result<ResumeState, Error> {
        let Some(identifier) = source.identifier().map(Arc::<str>::from) else {
            return Ok(ResumeState::Fresh);
        };
        let internal = is_internal(&identifier);
        let attached =
            self.inner.publisher.attach(&self.inner.registry, self.inner.policy, &source, identifier, cursor)?;
        for old in attached.replaced {
            tracing::debug!(identifier = ?source.identifier(), "a new connection replaces an open one");
            self.announce(PresenceChange::Left, &old);
            Registry::fire(&self.inner.registry.on_unregistered, &old);
            old.close();
        }
        // The framework's own streams are not the program's: its hooks and the other nodes' views of
        // its connections never see them (their identifiers carry an MCP session's id).
        if !internal {
            self.announce(PresenceChange::Joined, &source);
            Registry::fire(&self.inner.registry.on_registered, &source);
        }
        if attached.closes {
            drop(source.close());
        }
        Ok(attached.state)
    }

    pub(crate) fn unregister(&self, source: &LocalEventSource) {
        if let Some(identifier) = source.identifier() {
            if self.inner.registry.remove(identifier, source) && !is_internal(identifier) {
                self.announce(PresenceChange::Left, source);
                Registry::fire(&self.inner.registry.on_unregistered, source);
            }
        }
    }

    /// A presence entry of the shared log, at `position` (see [`ClusterView::receive_presence`]).
    pub(crate) fn receive_presence(&self, position: Position, entry: PresenceEntry) {
        let Some(backplane) = self.backplane() else {
            return;
        };
        let holders = self.inner.registry.get(&entry.identifier);
        let replace = self.inner.policy == IdentifierPolicy::Replace;
        match self.inner.cluster.receive_presence(backplane.node(), replace, holders, position, entry) {
            PresenceAction::None => {}
            PresenceAction::Joined(local, position) => local.joined_at(position),
            PresenceAction::Close(sources) => sources.iter().for_each(|source| drop(source.close())),
        }
    }

    /// Only the `live` nodes run: forget what the others held.
    pub(crate) fn forget_nodes_but(&self, live: &[String]) {
        self.inner.cluster.forget_nodes_but(live);
    }

    /// True while the presence entries say `node` holds `connection` under `identifier`.
    pub(crate) fn is_open_remotely(&self, identifier: &str, node: &str, connection: u64) -> bool {
        self.inner.cluster.is_open(identifier, node, connection)
    }

    // The handles on other nodes' connections are made here, and only here.

    /// Handles on the remote connections whose identifier satisfies `predicate` (with
    /// [`IdentifierPolicy::Replace`], only for identifiers not open here: the one here is the newest).
    fn find_remote(&self, predicate: impl Fn(&str) -> bool) -> Vec<RemoteEventSource> {
        let Some(server) = self.inner.server.get().and_then(WeakServer::upgrade) else {
            return Vec::new();
        };
        let replace = self.inner.policy == IdentifierPolicy::Replace;
        let accepts =
            |identifier: &str| predicate(identifier) && !(replace && self.inner.registry.contains(identifier));
        let found = self.inner.cluster.connections(accepts);
        let handle = |(identifier, r): (Arc<str>, _)| {
            let crate::backplane::cluster_view::RemoteConnection { node, connection } = r;
            RemoteEventSource::new(server.clone(), identifier, node, connection)
        };
        found.into_iter().map(handle).collect()
    }

    /// Asks the node that holds a remote connection to close it.
    pub(crate) fn request_remote_close(&self, source: &RemoteEventSource) {
        if let Some(backplane) = self.backplane() {
            let (identifier, node) = (Arc::from(source.identifier()), Arc::from(source.node()));
            let connection = source.connection();
            backplane.announce(PresenceEntry { change: PresenceChange::CloseRequested, identifier, node, connection });
        }
    }

    /// The open connection with this identifier (the newest, if several).
    ///
    /// On a [backplane](crate::backplane), a connection held by another node is found too (as far as
    /// this node knows from the shared log): it comes as [`HttpRequestEventSource::Remote`], and what is
    /// sent to it goes through the shared log.
    pub fn get_by_identifier(&self, identifier: &str) -> Option<HttpRequestEventSource> {
        let local = self.inner.registry.get(identifier).pop().map(HttpRequestEventSource::Local);
        local.or_else(|| self.find_remote(|id| id == identifier).pop().map(HttpRequestEventSource::Remote))
    }

    /// The open connections whose identifier satisfies `predicate` — on a backplane, on every node (see
    /// [`get_by_identifier`](Self::get_by_identifier)). `predicate` runs with no lock held.
    pub fn find(&self, predicate: impl Fn(&str) -> bool) -> Vec<HttpRequestEventSource> {
        let local = self.inner.registry.find(&predicate).into_iter().map(HttpRequestEventSource::Local);
        let mut found: Vec<_> = local.collect();
        found.extend(self.find_remote(predicate).into_iter().map(HttpRequestEventSource::Remote));
        found
    }

    /// The identifiers of the open connections of every node of the backplane, as far as this node
    /// knows from the shared log (without a backplane, those of this node). Each identifier is listed
    /// once, however many connections have it: a user's two tabs, on one node or on two, are one entry.
    pub fn cluster_identifiers(&self) -> Vec<String> {
        self.identifiers_everywhere().iter().map(|id| id.to_string()).collect()
    }

    fn identifiers_everywhere(&self) -> Vec<Arc<str>> {
        let mut identifiers = self.inner.registry.identifiers();
        identifiers.extend(self.inner.cluster.identifiers());
        identifiers.sort_unstable();
        identifiers.dedup();
        identifiers
    }

    /// Every open identified connection on this node.
    pub fn all(&self) -> Vec<LocalEventSource> {
        self.inner.registry.find(|_| true)
    }

    /// How many identified connections are open on this node — the framework's own streams (an MCP
    /// session's) included, which [`all`](Self::all) and [`find`](Self::find) leave out.
    pub fn active_connections(&self) -> usize {
        self.inner.registry.len()
    }

    /// How many identified connections are open on every live node of the [backplane](crate::backplane):
    /// this node's own, counted now, and the others' as each last reported (every second; a node that
    /// stops reporting is dropped from the count 3 s after its last report). Never below
    /// [`active_connections`](Self::active_connections). Without a backplane, this node's. Fails when the
    /// broker cannot be asked.
    pub async fn cluster_active_connections(&self) -> Result<usize, Error> {
        let own = self.active_connections();
        match self.backplane() {
            Some(backplane) => Ok(own + backplane.clone().other_nodes_connections().await?),
            None => Ok(own),
        }
    }

    /// Closes every identified connection (each sends what it has queued, then ends).
    pub fn drop_all(&self) {
        for source in self.all() {
            source.close();
        }
    }

    /// Adds `event` to the log for `audience` and queues it, encoded once with the id the log gave it,
    /// for every open connection of that audience. A connection of that audience that reconnects later
    /// with an earlier `Last-Event-ID` is sent it again.
    ///
    /// Answers what is known when it returns ([`Published`]): without a backplane the id and how many
    /// connections took it (`reached: Some(0)`: nobody was there). On a [backplane](crate::backplane)
    /// the event is appended to the shared log and reaches the connections of every node — this one's
    /// too — when that log hands it back, so the answer is `id: None, reached: None`
    /// ([`publish_async`](Self::publish_async) waits for both); this fails at once when the broker cannot
    /// take it ([`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable)), and then the
    /// event was sent to no one.
    ///
    /// A connection whose queue is full is disconnected (its client is not reading), after the event
    /// has been queued for all the others.
    ///
    /// A predicate ([`Audience::Where`]) is judged once, here, when the event is published, against the
    /// identifiers open then — on this node, and on a backplane on every node as far as this node knows
    /// ([`cluster_identifiers`](Self::cluster_identifiers)) — and the event goes to the identifiers it
    /// accepts, with no lock held while it runs: a connection that opens later (or that this node has
    /// not heard of yet) is not reached, and is not sent it again when it reconnects.
    pub fn publish(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        self.inner.publisher.publish(&self.inner.registry, self.portable(audience), event, false)
    }

    /// [`publish`](Self::publish), waiting on a backplane until the shared log has the event and this
    /// node has queued it for its own connections: the answer carries its id and how many of this
    /// node's connections took it (what a `POST` that publishes answers, say; and a handler that closes
    /// streams after it knows the event went first). If this node's read side does not hand the event
    /// back within 3 s (cut off from the broker), the answer has the id and `reached: None`. Without a
    /// backplane it is `publish`.
    pub async fn publish_async(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        self.inner.publisher.publish_waiting(&self.inner.registry, self.portable(audience), event, false).await
    }

    /// Sends `event` as the last one to the connections of `audience`, then closes them (each sends
    /// what it has queued, then ends) — on every node of a backplane, each node closing its own once
    /// the event is queued for them. Answers as [`publish`](Self::publish); `reached` counts the
    /// connections that took the event, all of them are closed.
    ///
    /// The log remembers that the event closed its streams: a client of the audience that reconnects
    /// with an earlier `Last-Event-ID` is sent what it missed up to this event, then closed again (it
    /// resumes past it next time), on whichever node it reconnects to.
    ///
    /// "Send a termination message, then close" so the browser does not reconnect: on a backplane,
    /// closing the streams by hand right after `publish` would close them before the event came back
    /// from the shared log.
    pub fn publish_and_close(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        self.inner.publisher.publish(&self.inner.registry, self.portable(audience), event, true)
    }

    /// [`publish_and_close`](Self::publish_and_close), waiting as [`publish_async`](Self::publish_async)
    /// does: on return, this node's connections of the audience have the event queued and are closed.
    pub async fn publish_and_close_async(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        self.inner.publisher.publish_waiting(&self.inner.registry, self.portable(audience), event, true).await
    }

    /// An audience that every node can judge, the same on one node as on many: a predicate becomes the
    /// identifiers it accepts among those open now (run with no lock held).
    fn portable(&self, audience: Audience) -> Audience {
        match audience {
            Audience::Where(predicate) => {
                let accepted = self.identifiers_everywhere().into_iter().filter(|id| predicate(id));
                Audience::Identifiers(accepted.collect())
            }
            portable => portable,
        }
    }

    /// A backplane's entry at `position`: into the window, then to the connections it is for.
    pub(crate) fn receive(&self, position: Position, entry: LogEntry) {
        self.inner.publisher.receive(&self.inner.registry, position, entry);
    }

    /// The shared log is under `epoch`: if the window was under another, it empties, every open
    /// identified connection is sent the stale event, and the stale hooks run for each.
    pub(crate) fn adopt_epoch(&self, epoch: &str) {
        for source in self.inner.publisher.adopt_epoch(&self.inner.registry, epoch) {
            Registry::fire(&self.inner.registry.on_stale, &source);
        }
    }

    /// The epoch of the window.
    pub(crate) fn log_epoch(&self) -> String {
        self.inner.publisher.epoch()
    }

    /// The window begins in the middle of the shared log, at `first`.
    pub(crate) fn window_starts_at(&self, first: Position) {
        self.inner.publisher.window_starts_at(first);
    }

    /// The stream the event at `cursor` (an id this server's log gave) was meant for, while the log
    /// holds it: how a stream of the framework's own is found again from its client's `Last-Event-ID`.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(crate) fn stream_at(&self, cursor: &str) -> Option<Arc<str>> {
        self.inner.publisher.stream_at(cursor)
    }

    /// The position of the newest event in the window.
    pub(crate) fn head_position(&self) -> Position {
        self.inner.publisher.head().position()
    }

    /// Sends `event` to every identified connection through the log. Answers as
    /// [`publish`](Self::publish): on one node `reached` is how many took it.
    pub fn broadcast(&self, event: &Event) -> Result<Published, Error> {
        self.publish(Audience::All, event)
    }

    /// Sends `event` through the log to the connections whose identifier satisfies `predicate`, judged
    /// once, now, against the identifiers open (on every node of a backplane, as far as this node knows),
    /// with no lock held; a connection of those that reconnects having missed it is sent it again.
    /// Answers as [`publish`](Self::publish).
    pub fn broadcast_where(
        &self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
        event: &Event,
    ) -> Result<Published, Error> {
        self.publish(Audience::matching(predicate), event)
    }

    /// Sends `event` through the log to the connections whose identifier starts with `prefix` (a room,
    /// a user's tabs), those open now and those that reconnect later having missed it. Unlike a
    /// predicate, a prefix is judged by every node when the event arrives. Answers as
    /// [`publish`](Self::publish).
    pub fn broadcast_prefix(&self, prefix: &str, event: &Event) -> Result<Published, Error> {
        self.publish(Audience::Prefix(prefix.into()), event)
    }

    /// Sends `event` through the log to the connection with `identifier`: now if it is open, or when it
    /// reconnects with an earlier `Last-Event-ID`. Answers as [`publish`](Self::publish): on one node,
    /// `reached: Some(0)` when it is not open.
    pub fn send_to(&self, identifier: &str, event: &Event) -> Result<Published, Error> {
        self.publish(Audience::Identifier(identifier.into()), event)
    }

    /// The id of the newest event in the log (`None` when the log is turned off).
    pub fn head(&self) -> Option<EventId> {
        self.inner.publisher.is_enabled().then(|| self.inner.publisher.head())
    }

    /// Runs `hook` each time a connection enters the collection. When it runs, the connection is already
    /// in the collection (`get_by_identifier` finds it, a broadcast reaches it) and no lock of the
    /// collection is held, so the hook may publish or look connections up. Reach the server through the
    /// connection (`es.server()`) rather than capturing it: the server holds its hooks. The builder's
    /// [`on_event_source_registered`](crate::http::HttpServerHostContextBuilder::on_event_source_registered)
    /// sets one where the server is described.
    pub fn on_event_source_registered(&self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) {
        Registry::add_hook(&self.inner.registry.on_registered, Arc::new(hook) as Hook);
    }

    /// Runs `hook` each time a connection leaves the collection (closed or replaced). When it runs, the
    /// connection is no longer in the collection, and, as for registration, no lock is held.
    #[doc(alias = "on_event_source_unregistration", alias = "OnEventSourceUnregistration")]
    pub fn on_event_source_unregistered(&self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) {
        Registry::add_hook(&self.inner.registry.on_unregistered, Arc::new(hook) as Hook);
    }

    /// Runs `hook` for each open connection told it is stale because the shared log of a
    /// [backplane](crate::backplane) started anew (Redis came back empty): when it runs, the stale event
    /// is queued on the connection and no lock is held, so the hook can send the fresh snapshot the
    /// page expects after it (`es.send_event(..)`).
    pub fn on_event_source_stale(&self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) {
        Registry::add_hook(&self.inner.registry.on_stale, Arc::new(hook) as Hook);
    }
}

impl fmt::Debug for HttpEventSourceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEventSourceCollection").field("active_connections", &self.active_connections()).finish()
    }
}
