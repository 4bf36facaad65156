//! Publishing through the event log: append an event under the log's lock (briefly), then deliver it to
//! this node's connections shard by shard, outside any lock shared by the whole server, and answer
//! [`Published`] — what is known when the call returns.
//!
//! The order of delivery is the log's: a publish locks shard 0 of the [registry](super::registry) before
//! it releases the log's lock, then walks the shards hand over hand (the next locked before the previous
//! is released), so a later publish follows it shard by shard and never overtakes it on any connection.
//! A connection attaches under the log's lock too, recording how far its replay went: a delivery skips a
//! connection that has seen its position, so an event published while a connection attaches is in its
//! replay or delivered live — never both, never neither.
//!
//! On a [backplane](crate::backplane) the entry goes to the shared log first and is delivered here when
//! this node's read side hands it back ([`Publisher::receive`]); a publish that waits marks its entry
//! with its [`Origin`], and is told how many connections took it when that entry is delivered here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::backplane::{Backplane, LogEntry, Origin};
use crate::http::streams::channel::Pushed;
use crate::http::streams::log::EventLog;
use crate::http::streams::registry::{shard_of, Registered, Registry, Targets};
use crate::http::streams::{
    is_internal, Audience, Event, EventId, EventLogOptions, IdentifierPolicy, LocalEventSource, Position, ResumeState,
    StaleReason,
};
use crate::sync::lock;
use crate::Error;

/// How long a waiting publish on a backplane waits, once the shared log has its entry, for this node's
/// read side to deliver it (longer means the reader is cut off from the broker: the answer then has the
/// id and no count).
const DELIVERY_WAIT: Duration = Duration::from_secs(3);

/// What a publishing call knows when it returns: the event was accepted (an `Err` says it was not, and
/// that it was sent to no one), the id it got, and how many of this node's connections took it.
///
/// | call | without a backplane | on a backplane |
/// |---|---|---|
/// | `publish`, `broadcast*`, `send_to`, `publish_and_close` | `id: Some` (`None` with the log off), `reached: Some(n)` | `id: None`, `reached: None`: the event is on its way to the shared log |
/// | `publish_async`, `publish_and_close_async` | as `publish` | `id: Some`, `reached: Some(n)` once this node delivered it; `reached: None` if this node's reader did not hand it back within 3 s |
///
/// `reached` counts only this node's connections, never another node's: on a backplane each node
/// delivers to its own when the shared log hands the event back. `Some(0)` means nobody here was there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The id the log gave the event (and sent it with); `None` when the log is turned off, and on a
    /// backplane from a call that does not wait, since the shared log gives the id later.
    pub id: Option<EventId>,
    /// How many of this node's open connections the event was queued for; `None` when that is not
    /// known when the call returns (on a backplane, from a call that does not wait, or when this node's
    /// read side did not deliver the event in time).
    pub reached: Option<usize>,
}

/// What a delivery leaves for when no lock is held: the heads of streams that had sent nothing yet
/// (sending one may drop a body whose request is over, which unregisters it), the connections to close
/// after their last event, the clients whose queue was full (disconnecting one runs the unregistration
/// hooks, which may publish), and the connections told they are stale (for the stale hooks).
#[derive(Default)]
pub(crate) struct Deferred {
    heads: Vec<LocalEventSource>,
    closing: Vec<LocalEventSource>,
    overflowing: Vec<LocalEventSource>,
    pub(crate) stale: Vec<LocalEventSource>,
}

impl Deferred {
    /// Sends the heads, closes and disconnects; returns the connections told they are stale.
    pub(crate) fn run(self) -> Vec<LocalEventSource> {
        for source in self.heads {
            source.commit_head();
        }
        for source in self.closing {
            source.close();
        }
        for source in self.overflowing {
            source.disconnect_slow_client();
        }
        self.stale
    }
}

/// A connection put in the registry: how it was resumed, the connections it replaces, and whether its
/// replay ended with an event that closed the stream (then it closes too, once the replay is written).
pub(crate) struct Attached {
    pub(crate) state: ResumeState,
    pub(crate) replaced: Vec<LocalEventSource>,
    pub(crate) closes: bool,
}

/// A waiting publish's entry, delivered by this node: where, and to how many.
#[derive(Debug, Clone, Copy)]
struct Delivered {
    reached: usize,
}

/// The log and the shared log's engine, and the publishes that wait for their entry to come back.
pub(crate) struct Publisher {
    /// Publishing and attaching take this lock in turn (always before a shard's): see the module.
    log: Mutex<EventLog>,
    /// The engine of a log shared by many nodes; `None` for the server's own log.
    backplane: Option<Arc<dyn Backplane>>,
    next_origin: AtomicU64,
    waiters: Mutex<HashMap<u64, oneshot::Sender<Delivered>>>,
    /// The framework's own readers of entries a backplane hands this node, by identifier (of its own:
    /// [`is_internal`]): the messages that nodes send one another (an MCP answer, to the node that
    /// waits for it).
    listeners: Mutex<HashMap<Arc<str>, mpsc::UnboundedSender<String>>>,
}

/// Removes a waiter when its publish returns or is dropped.
struct Waiting<'a> {
    publisher: &'a Publisher,
    sequence: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.publisher.waiters).remove(&self.sequence);
    }
}

impl Publisher {
    pub(crate) fn new(log: EventLogOptions, backplane: Option<Arc<dyn Backplane>>) -> Self {
        Publisher {
            log: Mutex::new(if backplane.is_some() { EventLog::shared(log) } else { EventLog::local(log) }),
            backplane,
            next_origin: AtomicU64::new(1),
            waiters: Mutex::default(),
            listeners: Mutex::default(),
        }
    }

    pub(crate) fn backplane(&self) -> Option<&Arc<dyn Backplane>> {
        self.backplane.as_ref()
    }

    fn node(&self) -> Option<&str> {
        self.backplane.as_ref().map(|backplane| backplane.node())
    }

    /// Puts `source` in the registry under `identifier` after queueing what the log has for it since
    /// `cursor`, all under the log's lock (then the shard's: the order publishes take them in too).
    /// Returns how it was resumed and the connections it replaces, or the refusal of
    /// [`IdentifierPolicy::RejectNew`].
    pub(crate) fn attach(
        &self,
        registry: &Registry,
        policy: IdentifierPolicy,
        source: &LocalEventSource,
        identifier: Arc<str>,
        cursor: Option<&str>,
    ) -> Result<Attached, Error> {
        // A stream of the framework's own is resumed by a new connection while the old one may linger:
        // the program's policy for its identifiers is not for these.
        let policy = if is_internal(&identifier) { IdentifierPolicy::AllowSeveral } else { policy };
        let mut log = lock(&self.log);
        let mut shard = registry.lock(shard_of(&identifier));
        if policy == IdentifierPolicy::RejectNew && shard.contains_key(&identifier) {
            return Err(Error::identifier_in_use("an event stream", &identifier));
        }
        let resumption = log.resume(cursor, &identifier);
        source.enqueue_before_head(resumption.frames);
        let seen_through = resumption.skip_through.unwrap_or_else(|| log.head().position());
        drop(log);
        let holders = shard.entry(identifier).or_default();
        let replaced = match policy {
            IdentifierPolicy::Replace => std::mem::take(holders).into_iter().map(|old| old.source).collect(),
            _ => Vec::new(),
        };
        holders.push(Registered { source: source.clone(), seen_through });
        Ok(Attached { state: resumption.state, replaced, closes: resumption.closes })
    }

    /// Appends `event` for `audience` (which every node can judge: no predicate) and, without a
    /// backplane, delivers it here; on a backplane it only goes to the shared log.
    pub(crate) fn publish(
        &self,
        registry: &Registry,
        audience: Audience,
        event: &Event,
        then_close: bool,
    ) -> Result<Published, Error> {
        if let Some(backplane) = &self.backplane {
            let entry = LogEntry { then_close, ..LogEntry::new(audience, event.clone()) };
            backplane.append(entry, None)?;
            return Ok(Published { id: None, reached: None });
        }
        let mut deferred = Deferred::default();
        let mut log = lock(&self.log);
        let (id, frame) = log.append(audience.clone(), event, then_close);
        let position = id.as_ref().map(EventId::position);
        let reached = self.deliver(registry, log, &audience, &frame, position, then_close, &mut deferred);
        deferred.run();
        Ok(Published { id, reached: Some(reached) })
    }

    /// [`publish`](Self::publish), waiting on a backplane until the shared log has the entry and this
    /// node has delivered it to its own connections.
    pub(crate) async fn publish_waiting(
        &self,
        registry: &Registry,
        audience: Audience,
        event: &Event,
        then_close: bool,
    ) -> Result<Published, Error> {
        let Some(backplane) = &self.backplane else {
            return self.publish(registry, audience, event, then_close);
        };
        let sequence = self.next_origin.fetch_add(1, Ordering::Relaxed);
        let (done, delivered) = oneshot::channel();
        // Registered before the entry is appended: this node's reader may hand it back before the
        // append's reply comes.
        lock(&self.waiters).insert(sequence, done);
        let _waiting = Waiting { publisher: self, sequence };
        let origin = Origin { node: Arc::from(backplane.node()), sequence };
        let entry = LogEntry { origin: Some(origin), then_close, ..LogEntry::new(audience, event.clone()) };
        let (reply, id) = oneshot::channel();
        backplane.append(entry, Some(reply))?;
        let id = id.await.map_err(|_| Error::broker_unavailable("the backplane stopped"))??;
        let reached = match tokio::time::timeout(DELIVERY_WAIT, delivered).await {
            Ok(Ok(delivered)) => Some(delivered.reached),
            _ => {
                tracing::debug!(%id, "the shared log has the event, but this node's reader has not delivered it yet");
                None
            }
        };
        Ok(Published { id: Some(id), reached })
    }

    /// Queues `frame` for the connections of `audience`, walking the registry's shards hand over hand
    /// from shard 0, which is locked before `log` is released; returns how many took it, and leaves in
    /// `deferred` what must wait until no lock is held. An entry at `position` skips the connections
    /// that have seen it.
    ///
    /// The per-event path of a broadcast: one shard locked at a time, handle by handle without
    /// collecting them first, one reading of the clock for every connection (the idle clock of
    /// `wait_for_fail`), and one lock of each connection's own queue.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &self,
        registry: &Registry,
        log: std::sync::MutexGuard<'_, EventLog>,
        audience: &Audience,
        frame: &Bytes,
        position: Option<Position>,
        then_close: bool,
        deferred: &mut Deferred,
    ) -> usize {
        let targets = Targets::of(audience, self.node());
        let first = registry.lock(0);
        drop(log);
        let sent_at = Instant::now();
        let mut reached = 0;
        registry.walk(first, targets.last_shard(), |index, shard| {
            targets.for_each(index, shard, |registered| {
                let source = &registered.source;
                if then_close {
                    deferred.closing.push(source.clone());
                }
                if position.is_some_and(|position| position <= registered.seen_through) {
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
            });
        });
        reached
    }

    /// A backplane's entry at `position`: into the window, then to the connections it is for; a
    /// waiting publish of this node is told how many took it.
    pub(crate) fn receive(&self, registry: &Registry, position: Position, entry: LogEntry) {
        let mut deferred = Deferred::default();
        let mut log = lock(&self.log);
        let reached = match log.insert(position, entry.audience.clone(), &entry.event, entry.then_close) {
            Some(frame) => {
                self.deliver(registry, log, &entry.audience, &frame, Some(position), entry.then_close, &mut deferred)
            }
            None => return,
        };
        deferred.run();
        self.hand_to_listener(&entry);
        if let Some(origin) = entry.origin.filter(|origin| Some(&*origin.node) == self.node()) {
            if let Some(waiter) = lock(&self.waiters).remove(&origin.sequence) {
                let _ = waiter.send(Delivered { reached });
            }
        }
    }

    /// Hands the data of an entry for an identifier of the framework's own to its listener here, if
    /// it has one.
    fn hand_to_listener(&self, entry: &LogEntry) {
        let Audience::Identifier(identifier) = &entry.audience else {
            return;
        };
        if !is_internal(identifier) {
            return;
        }
        let mut listeners = lock(&self.listeners);
        if let Some(listener) = listeners.get(identifier) {
            if listener.send(entry.event.data_text().unwrap_or_default().to_owned()).is_err() {
                listeners.remove(identifier);
            }
        }
    }

    /// The data of every entry for `identifier` (one of the framework's own) that a backplane hands
    /// this node from now on; a second listener replaces the first.
    #[cfg_attr(not(any(feature = "mcp", feature = "websockets")), allow(dead_code))]
    pub(crate) fn listen(&self, identifier: Arc<str>) -> mpsc::UnboundedReceiver<String> {
        let (sender, receiver) = mpsc::unbounded_channel();
        lock(&self.listeners).insert(identifier, sender);
        receiver
    }

    /// The shared log is under `epoch`: if the window was under another, it empties, every open
    /// identified connection is sent the stale event and forgets how far it had seen (positions start
    /// anew). Returns the connections told they are stale, for the hooks.
    pub(crate) fn adopt_epoch(&self, registry: &Registry, epoch: &str) -> Vec<LocalEventSource> {
        let mut log = lock(&self.log);
        if &**log.epoch() == epoch {
            return Vec::new();
        }
        if log.adopt_epoch(Arc::from(epoch)) {
            tracing::warn!(epoch, "the shared event log started anew; open streams are told they are stale");
        } else {
            tracing::info!(epoch, "joined the shared event log under epoch {epoch}");
        }
        let stale = log.stale_frame(StaleReason::OtherEpoch);
        let mut deferred = Deferred::default();
        let first = registry.lock(0);
        drop(log);
        let sent_at = Instant::now();
        registry.walk(first, Targets::All.last_shard(), |_, shard| {
            // Every connection starts over in the new epoch, the framework's own streams too; only the
            // program's are told they are stale (an MCP stream's client reads JSON-RPC messages only).
            for registered in shard.values_mut().flatten() {
                registered.seen_through = Position::default();
                let source = &registered.source;
                if source.identifier().is_some_and(is_internal) {
                    continue;
                }
                match source.offer(stale.clone(), sent_at) {
                    Pushed::Queued => {
                        deferred.stale.push(source.clone());
                        if source.head_pending() {
                            deferred.heads.push(source.clone());
                        }
                    }
                    Pushed::Full => deferred.overflowing.push(source.clone()),
                    Pushed::Closed => {}
                }
            }
        });
        deferred.run()
    }

    /// The epoch of the window.
    pub(crate) fn epoch(&self) -> String {
        lock(&self.log).epoch().to_string()
    }

    /// The window begins in the middle of the shared log, at `first`.
    pub(crate) fn window_starts_at(&self, first: Position) {
        lock(&self.log).starts_at(first);
    }

    /// The id of the newest event in the window.
    pub(crate) fn head(&self) -> EventId {
        lock(&self.log).head()
    }

    /// The stream the entry at `cursor` was meant for (see [`EventLog::stream_at`]).
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(crate) fn stream_at(&self, cursor: &str) -> Option<Arc<str>> {
        lock(&self.log).stream_at(cursor)
    }

    /// True unless the log is turned off.
    pub(crate) fn is_enabled(&self) -> bool {
        lock(&self.log).is_enabled()
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("backplane", &self.backplane).finish_non_exhaustive()
    }
}
