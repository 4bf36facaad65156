//! [`HttpEventSourceCollection`]: the open, identified event-source connections of a server, found by
//! identifier or predicate, and the broadcast that encodes once for all of them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::http::streams::{Event, HttpRequestEventSource};

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
#[derive(Clone, Default)]
pub struct HttpEventSourceCollection {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    sources: RwLock<HashMap<Arc<str>, HttpRequestEventSource>>,
    on_registered: RwLock<Vec<Hook>>,
    on_unregistered: RwLock<Vec<Hook>>,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl HttpEventSourceCollection {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn register(&self, source: HttpRequestEventSource) {
        let Some(identifier) = source.identifier().map(Arc::<str>::from) else {
            return;
        };
        let replaced = write(&self.inner.sources).insert(identifier, source.clone());
        if let Some(old) = replaced {
            tracing::debug!(identifier = source.identifier(), "a new connection replaces an open one");
            self.fire(&self.inner.on_unregistered, &old);
            old.close();
        }
        self.fire(&self.inner.on_registered, &source);
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

    /// Sends `event` to every identified connection, encoding it once; returns how many accepted it.
    pub fn broadcast(&self, event: &Event) -> usize {
        self.broadcast_where(|_| true, event)
    }

    /// Sends `event` to the connections whose identifier satisfies `predicate`, encoding it once; returns
    /// how many accepted it.
    pub fn broadcast_where(&self, predicate: impl Fn(&str) -> bool, event: &Event) -> usize {
        let bytes = event.encode();
        self.find(predicate).iter().filter(|source| source.send_encoded(bytes.clone())).count()
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
