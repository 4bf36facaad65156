//! [`HttpEventSourceCollection`]: the open, identified event-source connections of a server, found by
//! identifier or predicate, and publishing through the server's event log: a broadcast is encoded once
//! for all of them, and resent to those that reconnect having missed it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::backplane::{Backplane, LogEntry, PresenceChange, PresenceEntry};
use crate::http::lock;
use crate::http::server::WeakServer;
use crate::http::streams::channel::Pushed;
use crate::http::streams::log::EventLog;
use crate::http::streams::ping_policy::PingSchedule;
use crate::http::streams::{
    Audience, Event, EventId, EventLogOptions, HttpRequestEventSource, IdentifierPolicy, LocalEventSource, Position,
    RemoteEventSource, ResumeState, StaleReason,
};
use crate::Error;

type Hook = Arc<dyn Fn(&LocalEventSource) + Send + Sync>;

/// The open connections that have an identifier; reach it with
/// [`server.event_sources()`](crate::http::HttpServer::event_sources).
///
/// A connection enters when `get_event_source("id")` opens it and leaves the moment it closes. What a
/// new connection with an identifier already present does — stand beside the old one (the default),
/// replace it as Sisk does, or be refused — is the server's [`IdentifierPolicy`].
///
/// ```
/// # use sisk::prelude::*;
/// # fn demo(server: &HttpServer) {
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
/// let reached = server.event_sources().broadcast_where(|id| id.starts_with("my-connection-"), &Event::new().data("hi"));
/// # let _ = reached;
/// # }
/// ```
#[derive(Clone)]
pub struct HttpEventSourceCollection {
    inner: Arc<Inner>,
}

struct Inner {
    /// The open identified connections, oldest first under each identifier (several only with
    /// [`IdentifierPolicy::AllowSeveral`]).
    ///
    /// Ordered by identifier, so the connections of a prefix are one range of it: a broadcast to a room
    /// costs the room's size (and a logarithm), not a scan of every connection — it runs under the log's
    /// lock, which every publish takes.
    sources: RwLock<BTreeMap<Arc<str>, Vec<LocalEventSource>>>,
    policy: IdentifierPolicy,
    /// The engine of a log shared by many nodes; `None` for the server's own log.
    backplane: Option<Arc<dyn Backplane>>,
    /// Publishing and attaching take this lock in turn (always before `sources`): an event published
    /// while a connection attaches is either in that connection's replay or delivered to it live —
    /// never both, never neither.
    log: Mutex<EventLog>,
    on_registered: RwLock<Vec<Hook>>,
    on_unregistered: RwLock<Vec<Hook>>,
    /// The identified connections of the other nodes of the backplane, as their presence entries say.
    remote: RwLock<HashMap<Arc<str>, Vec<RemoteConnection>>>,
    /// The server this collection belongs to, to make handles on remote connections.
    server: OnceLock<WeakServer>,
    /// The pings of this server's streams, identified or not.
    pings: PingSchedule,
}

/// Where another node holds a connection.
#[derive(Debug, Clone)]
struct RemoteConnection {
    node: Arc<str>,
    connection: u64,
}

/// What [`HttpEventSourceCollection::publish`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The id the log gave the event (and sent it with); `None` when the log is turned off, and from
    /// `publish` on a backplane, where the shared log gives the id later (`publish_async` waits for it).
    pub id: Option<EventId>,
    /// How many open connections it was queued for. On a backplane the event reaches connections when
    /// the shared log hands it back to every node, so this is `0` there.
    pub reached: usize,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HttpEventSourceCollection {
    pub(crate) fn new(log: EventLogOptions, policy: IdentifierPolicy, backplane: Option<Arc<dyn Backplane>>) -> Self {
        let inner = Inner {
            sources: RwLock::default(),
            policy,
            log: Mutex::new(EventLog::new(log, backplane.is_some())),
            backplane,
            on_registered: RwLock::default(),
            on_unregistered: RwLock::default(),
            remote: RwLock::default(),
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

    /// Tells the other nodes, if there are any, about a change to one of this node's connections.
    fn announce(&self, change: PresenceChange, source: &LocalEventSource) {
        if let (Some(backplane), Some(identifier)) = (&self.inner.backplane, source.identifier()) {
            let node = Arc::from(backplane.node());
            let identifier = Arc::from(identifier);
            backplane.announce(PresenceEntry { change, identifier, node, connection: source.connection() });
        }
    }

    /// Puts an identified connection in the collection, after queueing what the log has for it: the
    /// events it missed since `cursor` (its `Last-Event-ID`), or the stale signal. Returns how it was
    /// resumed, or the refusal of [`IdentifierPolicy::RejectNew`].
    pub(crate) fn register(&self, source: LocalEventSource, cursor: Option<&str>) -> Result<ResumeState, Error> {
        let Some(identifier) = source.identifier().map(Arc::<str>::from) else {
            return Ok(ResumeState::Fresh);
        };
        let (state, replaced) = {
            let mut log = lock(&self.inner.log);
            if self.inner.policy == IdentifierPolicy::RejectNew && read(&self.inner.sources).contains_key(&identifier) {
                return Err(Error::identifier_in_use(&identifier));
            }
            let resumption = log.resume(cursor, &identifier);
            source.enqueue_before_head(resumption.frames);
            if let Some(position) = resumption.skip_through {
                source.skip_through(position);
            }
            let mut sources = write(&self.inner.sources);
            let holders = sources.entry(identifier).or_default();
            let replaced = match self.inner.policy {
                IdentifierPolicy::Replace => std::mem::take(holders),
                _ => Vec::new(),
            };
            holders.push(source.clone());
            (resumption.state, replaced)
        };
        for old in replaced {
            tracing::debug!(identifier = ?source.identifier(), "a new connection replaces an open one");
            self.announce(PresenceChange::Left, &old);
            self.fire(&self.inner.on_unregistered, &old);
            old.close();
        }
        self.announce(PresenceChange::Joined, &source);
        self.fire(&self.inner.on_registered, &source);
        Ok(state)
    }

    pub(crate) fn unregister(&self, source: &LocalEventSource) {
        let Some(identifier) = source.identifier() else {
            return;
        };
        let removed = {
            let mut sources = write(&self.inner.sources);
            let Some(holders) = sources.get_mut(identifier) else {
                return;
            };
            let before = holders.len();
            holders.retain(|holder| !holder.ptr_eq(source));
            let removed = holders.len() < before;
            if holders.is_empty() {
                sources.remove(identifier);
            }
            removed
        };
        if removed {
            self.announce(PresenceChange::Left, source);
            self.fire(&self.inner.on_unregistered, source);
        }
    }

    /// A presence entry of the shared log, at `position`.
    ///
    /// A `Joined` entry of another node for an identifier open here replaces the connection here if
    /// that one joined first (its own `Joined` entry was read back already): the newer connection wins,
    /// on any node, as on one. One that has not been read back yet is the newer, and stays.
    pub(crate) fn receive_presence(&self, position: Position, entry: PresenceEntry) {
        let Some(backplane) = &self.inner.backplane else {
            return;
        };
        let own = &*entry.node == backplane.node();
        let holders = read(&self.inner.sources).get(&entry.identifier).cloned().unwrap_or_default();
        let this_one = || holders.iter().find(|holder| holder.connection() == entry.connection);
        match (entry.change, own) {
            (PresenceChange::Joined, true) => {
                if let Some(local) = this_one() {
                    local.joined_at(position);
                }
            }
            (PresenceChange::Joined, false) => {
                let connection = RemoteConnection { node: entry.node.clone(), connection: entry.connection };
                write(&self.inner.remote).entry(entry.identifier.clone()).or_default().push(connection);
                if self.inner.policy == IdentifierPolicy::Replace {
                    for older in holders.iter().filter(|holder| holder.has_joined()) {
                        tracing::debug!(identifier = ?entry.identifier, node = %entry.node, "a newer connection on another node replaces this one");
                        older.close();
                    }
                }
            }
            (PresenceChange::Left, false) => {
                let mut remote = write(&self.inner.remote);
                if let Some(connections) = remote.get_mut(&entry.identifier) {
                    connections.retain(|r| !(r.node == entry.node && r.connection == entry.connection));
                    if connections.is_empty() {
                        remote.remove(&entry.identifier);
                    }
                }
            }
            (PresenceChange::CloseRequested, true) => {
                if let Some(local) = this_one() {
                    local.close();
                }
            }
            _ => {}
        }
    }

    /// Only the `live` nodes run: forget what the others held.
    pub(crate) fn forget_nodes_but(&self, live: &[String]) {
        write(&self.inner.remote).retain(|_, connections| {
            connections.retain(|remote| live.iter().any(|node| **node == *remote.node));
            !connections.is_empty()
        });
    }

    /// True while the presence entries say `node` holds `connection` under `identifier`.
    pub(crate) fn is_open_remotely(&self, identifier: &str, node: &str, connection: u64) -> bool {
        read(&self.inner.remote)
            .get(identifier)
            .is_some_and(|connections| connections.iter().any(|r| &*r.node == node && r.connection == connection))
    }

    /// Asks the node that holds a remote connection to close it.
    pub(crate) fn request_remote_close(&self, source: &RemoteEventSource) {
        if let Some(backplane) = &self.inner.backplane {
            let (identifier, node) = (Arc::from(source.identifier()), Arc::from(source.node()));
            let connection = source.connection();
            backplane.announce(PresenceEntry { change: PresenceChange::CloseRequested, identifier, node, connection });
        }
    }

    fn fire(&self, hooks: &RwLock<Vec<Hook>>, source: &LocalEventSource) {
        let hooks = read(hooks).clone();
        for hook in hooks {
            hook(source);
        }
    }

    /// The newest connection with `identifier` on this node.
    fn get_local(&self, identifier: &str) -> Option<LocalEventSource> {
        read(&self.inner.sources).get(identifier).and_then(|holders| holders.last()).cloned()
    }

    /// This node's connections whose identifier satisfies `predicate`.
    fn find_local(&self, predicate: impl Fn(&str) -> bool) -> Vec<LocalEventSource> {
        let sources = read(&self.inner.sources);
        sources.iter().filter(|(id, _)| predicate(id)).flat_map(|(_, holders)| holders.iter().cloned()).collect()
    }

    /// Handles on the remote connections whose identifier satisfies `predicate` (with
    /// [`IdentifierPolicy::Replace`], only for identifiers not open here: the one here is the newest).
    fn find_remote(&self, predicate: impl Fn(&str) -> bool) -> Vec<RemoteEventSource> {
        let Some(server) = self.inner.server.get().and_then(WeakServer::upgrade) else {
            return Vec::new();
        };
        let local = read(&self.inner.sources);
        let replaced_here =
            |identifier: &str| self.inner.policy == IdentifierPolicy::Replace && local.contains_key(identifier);
        read(&self.inner.remote)
            .iter()
            .filter(|(identifier, _)| predicate(identifier) && !replaced_here(identifier))
            .flat_map(|(identifier, connections)| {
                connections
                    .iter()
                    .map(|r| RemoteEventSource::new(server.clone(), identifier.clone(), r.node.clone(), r.connection))
            })
            .collect()
    }

    /// The open connection with this identifier.
    ///
    /// On a [backplane](crate::backplane), a connection held by another node is found too (as far as
    /// this node knows from the shared log): it comes as [`HttpRequestEventSource::Remote`], and what is
    /// sent to it goes through the shared log.
    pub fn get_by_identifier(&self, identifier: &str) -> Option<HttpRequestEventSource> {
        let local = self.get_local(identifier).map(HttpRequestEventSource::Local);
        local.or_else(|| self.find_remote(|id| id == identifier).pop().map(HttpRequestEventSource::Remote))
    }

    /// The open connections whose identifier satisfies `predicate` — on a backplane, on every node (see
    /// [`get_by_identifier`](Self::get_by_identifier)).
    pub fn find(&self, predicate: impl Fn(&str) -> bool) -> Vec<HttpRequestEventSource> {
        let mut found: Vec<_> = self.find_local(&predicate).into_iter().map(HttpRequestEventSource::Local).collect();
        found.extend(self.find_remote(predicate).into_iter().map(HttpRequestEventSource::Remote));
        found
    }

    /// The identifiers of the open connections of every node of the backplane, as far as this node
    /// knows from the shared log (without a backplane, those of this node).
    pub fn cluster_identifiers(&self) -> Vec<String> {
        let local = read(&self.inner.sources);
        let remote = read(&self.inner.remote);
        let elsewhere = remote.keys().filter(|id| !local.contains_key(*id));
        local.keys().chain(elsewhere).map(|id| id.to_string()).collect()
    }

    /// Every open identified connection on this node.
    pub fn all(&self) -> Vec<LocalEventSource> {
        self.find_local(|_| true)
    }

    /// How many identified connections are open on this node.
    pub fn active_connections(&self) -> usize {
        read(&self.inner.sources).values().map(Vec::len).sum()
    }

    /// How many identified connections are open on every live node of the [backplane](crate::backplane)
    /// (as each node last reported, every two seconds); without one, on this node. Fails when the
    /// broker cannot be asked.
    pub async fn cluster_active_connections(&self) -> Result<usize, Error> {
        match &self.inner.backplane {
            Some(backplane) => backplane.clone().cluster_connections().await,
            None => Ok(self.active_connections()),
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
    /// A connection whose queue is full is disconnected (its client is not reading), after the event
    /// has been queued for all the others.
    ///
    /// On a [backplane](crate::backplane) the event is appended to the shared log and reaches the
    /// connections of every node when that log hands it back; this fails at once when the broker cannot
    /// take it ([`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable)). Other nodes cannot run a predicate
    /// ([`Audience::Where`]), so there it is judged here, when the event is published, against the
    /// identifiers open on every node as far as this node knows ([`cluster_identifiers`](Self::cluster_identifiers)):
    /// a connection that opens later, or that this node has not heard of yet, is not reached.
    pub fn publish(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        if let Some(backplane) = &self.inner.backplane {
            let audience = self.portable(audience);
            backplane.append(LogEntry { audience, event: event.clone() }, None)?;
            return Ok(Published { id: None, reached: 0 });
        }
        let mut deferred = Deferred::default();
        let published = {
            let mut log = lock(&self.inner.log);
            let (id, frame) = log.append(audience.clone(), event);
            let reached = self.deliver(&audience, &frame, None, &mut deferred);
            Published { id, reached }
        };
        deferred.run();
        Ok(published)
    }

    /// An audience that every node can judge: a predicate becomes the identifiers it accepts among those
    /// open on every node, as far as this node knows.
    fn portable(&self, audience: Audience) -> Audience {
        match audience {
            Audience::Where(predicate) => {
                let accepted = self.cluster_identifiers().into_iter().filter(|id| predicate(id)).map(Arc::from);
                Audience::Identifiers(accepted.collect())
            }
            portable => portable,
        }
    }

    /// [`publish`](Self::publish), waiting on a backplane until the shared log has the event, so the
    /// result carries its id (what a `POST` that publishes answers, say). Without a backplane it is
    /// `publish`.
    pub async fn publish_async(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        let Some(backplane) = &self.inner.backplane else {
            return self.publish(audience, event);
        };
        let (reply, id) = oneshot::channel();
        let audience = self.portable(audience);
        backplane.append(LogEntry { audience, event: event.clone() }, Some(reply))?;
        let id = id.await.map_err(|_| Error::broker_unavailable("the backplane stopped"))??;
        Ok(Published { id: Some(id), reached: 0 })
    }

    /// Queues `frame` for the open connections of `audience` (the log's lock is held); returns how many
    /// took it, and leaves in `deferred` what must wait until no lock is held. An entry of a shared log
    /// at `position` skips the connections that attached with a cursor past it.
    ///
    /// The per-event path of a broadcast: it walks the collection under its read lock, handle by handle,
    /// without collecting them first, and reads the clock once for every connection (the idle clock of
    /// `wait_for_fail`). Each connection costs one lock of its own queue.
    fn deliver(
        &self,
        audience: &Audience,
        frame: &Bytes,
        position: Option<Position>,
        deferred: &mut Deferred,
    ) -> usize {
        let sent_at = Instant::now();
        let mut reached = 0;
        let offer = |source: &LocalEventSource| {
            if position.is_some_and(|position| source.has_seen(position)) {
                return;
            }
            match source.offer(frame.clone(), sent_at) {
                Pushed::Queued => {
                    reached += 1;
                    if source.head_pending() {
                        deferred.heads.push(source.clone());
                    }
                }
                Pushed::Full => deferred.overflowing.push(source.clone()),
                Pushed::Closed => {}
            }
        };
        let sources = read(&self.inner.sources);
        match audience {
            Audience::Identifier(identifier) => sources.get(identifier).into_iter().flatten().for_each(offer),
            Audience::Connection { identifier, node, connection } => {
                if self.inner.backplane.as_ref().is_some_and(|backplane| backplane.node() == &**node) {
                    let holders = sources.get(identifier).into_iter().flatten();
                    holders.filter(|holder| holder.connection() == *connection).for_each(offer);
                }
            }
            Audience::Prefix(prefix) => sources
                .range::<str, _>((Bound::Included(&**prefix), Bound::Unbounded))
                .take_while(|(id, _)| id.starts_with(&**prefix))
                .flat_map(|(_, holders)| holders)
                .for_each(offer),
            Audience::Identifiers(identifiers) => {
                identifiers.iter().filter_map(|id| sources.get(id)).flatten().for_each(offer);
            }
            Audience::All | Audience::Where(_) => {
                sources.iter().filter(|(id, _)| audience.includes(id)).flat_map(|(_, holders)| holders).for_each(offer)
            }
        }
        reached
    }

    /// A backplane's entry at `position`: into the window, then to the connections it is for.
    pub(crate) fn receive(&self, position: Position, entry: LogEntry) {
        let mut deferred = Deferred::default();
        {
            let mut log = lock(&self.inner.log);
            if let Some(frame) = log.insert(position, entry.audience.clone(), &entry.event) {
                self.deliver(&entry.audience, &frame, Some(position), &mut deferred);
            }
        }
        deferred.run();
    }

    /// The shared log is under `epoch`: if the window was under another, it empties and every open
    /// identified connection is sent the stale event.
    pub(crate) fn adopt_epoch(&self, epoch: &str) {
        let mut deferred = Deferred::default();
        {
            let mut log = lock(&self.inner.log);
            if &**log.epoch() == epoch {
                return;
            }
            log.adopt_epoch(Arc::from(epoch));
            let stale = log.stale_frame(StaleReason::OtherEpoch);
            tracing::warn!(epoch, "the shared event log started anew; open streams are told they are stale");
            self.deliver(&Audience::All, &stale, None, &mut deferred);
        }
        deferred.run();
    }

    /// The epoch of the window.
    pub(crate) fn log_epoch(&self) -> String {
        lock(&self.inner.log).epoch().to_string()
    }

    /// The window begins in the middle of the shared log, at `first`.
    pub(crate) fn window_starts_at(&self, first: Position) {
        lock(&self.inner.log).starts_at(first);
    }

    /// The position of the newest event in the window.
    pub(crate) fn head_position(&self) -> Position {
        lock(&self.inner.log).head().position()
    }

    /// The backplane the log runs on, if any.
    pub(crate) fn backplane(&self) -> Option<&Arc<dyn Backplane>> {
        self.inner.backplane.as_ref()
    }

    /// Sends `event` to every identified connection through the log; returns how many it was queued for.
    pub fn broadcast(&self, event: &Event) -> usize {
        self.publish_counting(Audience::All, event)
    }

    /// Sends `event` through the log to the connections whose identifier satisfies `predicate` — those
    /// open now, and those that reconnect later having missed it; returns how many it was queued for.
    pub fn broadcast_where(&self, predicate: impl Fn(&str) -> bool + Send + Sync + 'static, event: &Event) -> usize {
        self.publish_counting(Audience::matching(predicate), event)
    }

    /// Sends `event` through the log to the connections whose identifier starts with `prefix` (a room,
    /// a user's tabs); returns how many it was queued for. Unlike a predicate, a prefix can be judged on
    /// every node of a cluster.
    pub fn broadcast_prefix(&self, prefix: &str, event: &Event) -> usize {
        self.publish_counting(Audience::Prefix(prefix.into()), event)
    }

    /// Sends `event` through the log to the connection with `identifier`: now if it is open, or when it
    /// reconnects with an earlier `Last-Event-ID`. Returns whether it was queued for an open connection.
    pub fn send_to(&self, identifier: &str, event: &Event) -> bool {
        self.publish_counting(Audience::Identifier(identifier.into()), event) > 0
    }

    fn publish_counting(&self, audience: Audience, event: &Event) -> usize {
        match self.publish(audience, event) {
            Ok(published) => published.reached,
            Err(err) => {
                tracing::warn!(error = %err, "an event could not be published");
                0
            }
        }
    }

    /// The id of the newest event in the log (`None` when the log is turned off).
    pub fn head(&self) -> Option<EventId> {
        let log = lock(&self.inner.log);
        log.is_enabled().then(|| log.head())
    }

    /// Runs `hook` each time a connection enters the collection. When it runs, the connection is already
    /// in the collection (`get_by_identifier` finds it, a broadcast reaches it) and no lock of the
    /// collection is held, so the hook may publish or look connections up. Reach the server through the
    /// connection (`es.server()`) rather than capturing it: the server holds its hooks. The builder's
    /// [`on_event_source_registered`](crate::http::HttpServerHostContextBuilder::on_event_source_registered)
    /// sets one where the server is described.
    pub fn on_event_source_registered(&self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) {
        write(&self.inner.on_registered).push(Arc::new(hook));
    }

    /// Runs `hook` each time a connection leaves the collection (closed or replaced). When it runs, the
    /// connection is no longer in the collection, and, as for registration, no lock is held.
    pub fn on_event_source_unregistration(&self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) {
        write(&self.inner.on_unregistered).push(Arc::new(hook));
    }
}

/// What a delivery leaves for when no lock of the collection is held: the heads of streams that had sent
/// nothing yet (sending one may drop a body whose request is over, which unregisters it), and the
/// clients whose queue was full (disconnecting one runs the unregistration hooks, which may publish).
#[derive(Default)]
struct Deferred {
    heads: Vec<LocalEventSource>,
    overflowing: Vec<LocalEventSource>,
}

impl Deferred {
    fn run(self) {
        for source in self.heads {
            source.commit_head();
        }
        for source in self.overflowing {
            source.disconnect_slow_client();
        }
    }
}

impl fmt::Debug for HttpEventSourceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEventSourceCollection").field("active_connections", &self.active_connections()).finish()
    }
}
