//! [`RemoteEventSource`]: a Server-Sent Events connection that another node of the
//! [backplane](crate::backplane) holds, as this node knows it from the shared log's presence entries —
//! its identifier, the node, and that node's number for it, nothing more. What is sent to it goes
//! through the shared log; it is pinged, waited on and answered by the node that holds it.

use std::fmt;
use std::sync::Arc;

use crate::http::streams::{Audience, Event};
use crate::http::HttpServer;

/// A connection held by another node of the [backplane](crate::backplane), found with
/// [`get_by_identifier`](crate::http::streams::HttpEventSourceCollection::get_by_identifier) or
/// [`find`](crate::http::streams::HttpEventSourceCollection::find) (wrapped as
/// [`HttpRequestEventSource::Remote`](crate::http::streams::HttpRequestEventSource::Remote)).
///
/// It carries only what this node really knows: the identifier, the node that holds it, and that node's
/// number for it. The request that opened it (method, path, headers, address), its queue and its pings
/// are on that node. Two handles are equal when they name the same connection.
#[derive(Clone)]
pub struct RemoteEventSource {
    identifier: Arc<str>,
    node: Arc<str>,
    connection: u64,
    /// This node's server, whose collection publishes through the shared log.
    server: HttpServer,
}

impl RemoteEventSource {
    pub(crate) fn new(server: HttpServer, identifier: Arc<str>, node: Arc<str>, connection: u64) -> Self {
        RemoteEventSource { identifier, node, connection, server }
    }

    /// The connection's identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The name of the node that holds the connection (its
    /// [`Backplane::node`](crate::backplane::Backplane::node)).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The holding node's number for the connection.
    pub(crate) fn connection(&self) -> u64 {
        self.connection
    }

    /// This one connection, as the audience of what is sent to it.
    fn audience(&self) -> Audience {
        let (identifier, node) = (self.identifier.clone(), self.node.clone());
        Audience::Connection { identifier, node, connection: self.connection }
    }

    /// True while the shared log's presence entries say the connection is open (a connection that just
    /// closed stays active here until its node's `Left` entry comes back through the log — usually
    /// milliseconds; a node that died is forgotten when it stops reporting).
    pub fn is_active(&self) -> bool {
        self.server.event_sources().is_open_remotely(&self.identifier, &self.node, self.connection)
    }

    /// Sends `data` as one event through the shared log. `true` when the backplane took it (it is
    /// appended in order and reaches the connection, or the connection's next resume); `false` when it
    /// could not be published (the broker is unreachable): the reason is logged. To get that reason, or
    /// the event's id, use the collection's [`publish`](crate::http::streams::HttpEventSourceCollection::publish).
    pub fn send(&self, data: impl fmt::Display) -> bool {
        self.send_event(&Event::new().data(data.to_string()))
    }

    /// Sends a typed [`Event`] through the shared log (as [`send`](Self::send)); its own id gives way
    /// to the log's.
    pub fn send_event(&self, event: &Event) -> bool {
        match self.server.event_sources().publish(self.audience(), event) {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(identifier = %self.identifier, node = %self.node, error = %err, "an event for a remote connection could not be published");
                false
            }
        }
    }

    /// [`send`](Self::send), waiting until the shared log has the event.
    pub async fn send_async(&self, data: impl fmt::Display) -> bool {
        self.send_event_async(&Event::new().data(data.to_string())).await
    }

    /// [`send_event`](Self::send_event), waiting until the shared log has the event.
    pub async fn send_event_async(&self, event: &Event) -> bool {
        match self.server.event_sources().publish_async(self.audience(), event).await {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(identifier = %self.identifier, node = %self.node, error = %err, "an event for a remote connection could not be published");
                false
            }
        }
    }

    /// Asks the node that holds the connection to close it, through the shared log: that node flushes
    /// what is queued for it, then ends it.
    pub fn close(&self) {
        self.server.event_sources().request_remote_close(self);
    }
}

impl PartialEq for RemoteEventSource {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node && self.connection == other.connection
    }
}

impl Eq for RemoteEventSource {}

impl fmt::Debug for RemoteEventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEventSource")
            .field("identifier", &self.identifier)
            .field("node", &self.node)
            .field("connection", &self.connection)
            .finish()
    }
}
