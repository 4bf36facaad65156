//! [`HttpEventSourceCollection`]: the open, identified event-source connections of a server, found by
//! identifier or predicate, and publishing through the server's event log: a broadcast is encoded once
//! for all of them, and resent to those that reconnect having missed it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::http::streams::channel::Pushed;
use crate::http::streams::log::EventLog;
use crate::http::streams::{Audience, Event, EventId, EventLogOptions, HttpRequestEventSource, ResumeState};
use crate::Error;

type Hook = Arc<dyn Fn(&HttpRequestEventSource) + Send + Sync>;

/// The open connections that have an identifier; reach it with
/// [`server.event_sources()`](crate::http::HttpServer::event_sources).
///
/// A connection enters when `get_event_source("id")` opens it and leaves the moment it closes. A new
/// connection with an identifier already present replaces the old one, which is closed.
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
    sources: RwLock<HashMap<Arc<str>, HttpRequestEventSource>>,
    /// Publishing and attaching take this lock in turn (always before `sources`): an event published
    /// while a connection attaches is either in that connection's replay or delivered to it live —
    /// never both, never neither.
    log: Mutex<EventLog>,
    on_registered: RwLock<Vec<Hook>>,
    on_unregistered: RwLock<Vec<Hook>>,
}

/// What [`HttpEventSourceCollection::publish`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The id the log gave the event (and sent it with); `None` when the log is turned off.
    pub id: Option<EventId>,
    /// How many open connections it was queued for.
    pub reached: usize,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HttpEventSourceCollection {
    pub(crate) fn new(log: EventLogOptions) -> Self {
        let inner = Inner {
            sources: RwLock::default(),
            log: Mutex::new(EventLog::new(log)),
            on_registered: RwLock::default(),
            on_unregistered: RwLock::default(),
        };
        HttpEventSourceCollection { inner: Arc::new(inner) }
    }

    /// Puts an identified connection in the collection, after queueing what the log has for it: the
    /// events it missed since `cursor` (its `Last-Event-ID`), or the stale signal. Returns how it was
    /// resumed.
    pub(crate) fn register(&self, source: HttpRequestEventSource, cursor: Option<&str>) -> ResumeState {
        let Some(identifier) = source.identifier().map(Arc::<str>::from) else {
            return ResumeState::Fresh;
        };
        let (state, replaced) = {
            let mut log = lock(&self.inner.log);
            let resumption = log.resume(cursor, &identifier);
            source.enqueue_before_head(resumption.frames);
            let replaced = write(&self.inner.sources).insert(identifier, source.clone());
            (resumption.state, replaced)
        };
        if let Some(old) = replaced {
            tracing::debug!(identifier = ?source.identifier(), "a new connection replaces an open one");
            self.fire(&self.inner.on_unregistered, &old);
            old.close();
        }
        self.fire(&self.inner.on_registered, &source);
        state
    }

    pub(crate) fn unregister(&self, source: &HttpRequestEventSource) {
        let Some(identifier) = source.identifier() else {
            return;
        };
        let removed = {
            let mut sources = write(&self.inner.sources);
            match sources.get(identifier) {
                Some(current) if current.ptr_eq(source) => sources.remove(identifier),
                _ => None,
            }
        };
        if let Some(removed) = removed {
            self.fire(&self.inner.on_unregistered, &removed);
        }
    }

    fn fire(&self, hooks: &RwLock<Vec<Hook>>, source: &HttpRequestEventSource) {
        let hooks = read(hooks).clone();
        for hook in hooks {
            hook(source);
        }
    }

    /// The open connection with this identifier.
    pub fn get_by_identifier(&self, identifier: &str) -> Option<HttpRequestEventSource> {
        read(&self.inner.sources).get(identifier).cloned()
    }

    /// The open connections whose identifier satisfies `predicate`.
    pub fn find(&self, predicate: impl Fn(&str) -> bool) -> Vec<HttpRequestEventSource> {
        read(&self.inner.sources).iter().filter(|(id, _)| predicate(id)).map(|(_, s)| s.clone()).collect()
    }

    /// Every open identified connection.
    pub fn all(&self) -> Vec<HttpRequestEventSource> {
        read(&self.inner.sources).values().cloned().collect()
    }

    /// How many identified connections are open.
    pub fn active_connections(&self) -> usize {
        read(&self.inner.sources).len()
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
    pub fn publish(&self, audience: Audience, event: &Event) -> Result<Published, Error> {
        let mut overflowing = Vec::new();
        let published = {
            let mut log = lock(&self.inner.log);
            let (id, frame) = log.append(audience.clone(), event);
            let targets: Vec<HttpRequestEventSource> = {
                let sources = read(&self.inner.sources);
                match &audience {
                    Audience::Identifier(identifier) => sources.get(identifier).cloned().into_iter().collect(),
                    _ => sources.iter().filter(|(id, _)| audience.includes(id)).map(|(_, s)| s.clone()).collect(),
                }
            };
            let mut reached = 0;
            for source in targets {
                match source.offer(frame.clone()) {
                    Pushed::Queued => reached += 1,
                    Pushed::Full => overflowing.push(source),
                    Pushed::Closed => {}
                }
            }
            Published { id, reached }
        };
        for source in overflowing {
            source.disconnect_slow_client();
        }
        Ok(published)
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

    /// Runs `hook` each time a connection enters the collection.
    pub fn on_event_source_registered(&self, hook: impl Fn(&HttpRequestEventSource) + Send + Sync + 'static) {
        write(&self.inner.on_registered).push(Arc::new(hook));
    }

    /// Runs `hook` each time a connection leaves the collection (closed or replaced).
    pub fn on_event_source_unregistration(&self, hook: impl Fn(&HttpRequestEventSource) + Send + Sync + 'static) {
        write(&self.inner.on_unregistered).push(Arc::new(hook));
    }
}

impl fmt::Debug for HttpEventSourceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEventSourceCollection").field("active_connections", &self.active_connections()).finish()
    }
}
