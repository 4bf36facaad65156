//! [`HttpRequestEventSource`]: an identified connection as the collection finds it — on this node, or,
//! on a [backplane](crate::backplane), on another — with what both kinds really share: an identifier,
//! sends, whether it is open, and closing it.

use std::fmt;

use crate::http::streams::{Event, LocalEventSource, RemoteEventSource};

/// An identified connection found with
/// [`get_by_identifier`](crate::http::streams::HttpEventSourceCollection::get_by_identifier) or
/// [`find`](crate::http::streams::HttpEventSourceCollection::find): held by this node, or by another node
/// of the [backplane](crate::backplane). Each variant carries only what that kind of connection has; what
/// both share is here, so the documentation's code reads the same on one node and on many:
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
/// # }
/// ```
///
/// For what only a connection on this node has (its request's path and headers, its queue, waiting on
/// it), match on the variant or use [`as_local`](Self::as_local).
#[derive(Clone, Debug)]
pub enum HttpRequestEventSource {
    /// A connection this node holds.
    Local(LocalEventSource),
    /// A connection another node holds; sends go through the shared log.
    Remote(RemoteEventSource),
}

impl HttpRequestEventSource {
    /// The connection's identifier: always there for what the collection finds, which holds only
    /// identified connections (`None` only for an anonymous local connection wrapped by hand).
    pub fn identifier(&self) -> Option<&str> {
        match self {
            HttpRequestEventSource::Local(local) => local.identifier(),
            HttpRequestEventSource::Remote(remote) => Some(remote.identifier()),
        }
    }

    /// True while the connection is open (for a remote one: as far as this node knows from the shared
    /// log, see [`RemoteEventSource::is_active`]).
    pub fn is_active(&self) -> bool {
        match self {
            HttpRequestEventSource::Local(local) => local.is_active(),
            HttpRequestEventSource::Remote(remote) => remote.is_active(),
        }
    }

    /// Sends `data` as one event. On this node, `false` when the connection is closed or its client too
    /// slow ([`LocalEventSource::send`]); on another, `false` when the shared log could not take it
    /// ([`RemoteEventSource::send`]).
    pub fn send(&self, data: impl fmt::Display) -> bool {
        self.send_event(&Event::new().data(data.to_string()))
    }

    /// Sends a typed [`Event`], as [`send`](Self::send).
    pub fn send_event(&self, event: &Event) -> bool {
        match self {
            HttpRequestEventSource::Local(local) => local.send_event(event),
            HttpRequestEventSource::Remote(remote) => remote.send_event(event),
        }
    }

    /// [`send`](Self::send), waiting for room in a local queue, or until the shared log has the event.
    pub async fn send_async(&self, data: impl fmt::Display) -> bool {
        self.send_event_async(&Event::new().data(data.to_string())).await
    }

    /// [`send_event`](Self::send_event), waiting as [`send_async`](Self::send_async) does.
    pub async fn send_event_async(&self, event: &Event) -> bool {
        match self {
            HttpRequestEventSource::Local(local) => local.send_event_async(event).await,
            HttpRequestEventSource::Remote(remote) => remote.send_event_async(event).await,
        }
    }

    /// Closes the connection: here, at once (what is queued still goes out); on another node, by asking
    /// that node through the shared log.
    pub fn close(&self) {
        match self {
            HttpRequestEventSource::Local(local) => {
                local.close();
            }
            HttpRequestEventSource::Remote(remote) => remote.close(),
        }
    }

    /// True for a connection another node holds.
    pub fn is_remote(&self) -> bool {
        matches!(self, HttpRequestEventSource::Remote(_))
    }

    /// The connection, if this node holds it.
    pub fn as_local(&self) -> Option<&LocalEventSource> {
        match self {
            HttpRequestEventSource::Local(local) => Some(local),
            HttpRequestEventSource::Remote(_) => None,
        }
    }

    /// The connection, if another node holds it.
    pub fn as_remote(&self) -> Option<&RemoteEventSource> {
        match self {
            HttpRequestEventSource::Local(_) => None,
            HttpRequestEventSource::Remote(remote) => Some(remote),
        }
    }

    /// True when both handles are the same connection.
    pub fn ptr_eq(&self, other: &HttpRequestEventSource) -> bool {
        match (self, other) {
            (HttpRequestEventSource::Local(a), HttpRequestEventSource::Local(b)) => a.ptr_eq(b),
            (HttpRequestEventSource::Remote(a), HttpRequestEventSource::Remote(b)) => a == b,
            _ => false,
        }
    }
}

impl From<LocalEventSource> for HttpRequestEventSource {
    fn from(local: LocalEventSource) -> Self {
        HttpRequestEventSource::Local(local)
    }
}

impl From<RemoteEventSource> for HttpRequestEventSource {
    fn from(remote: RemoteEventSource) -> Self {
        HttpRequestEventSource::Remote(remote)
    }
}
