//! [`HttpWebSocketCollection`]: a server's identified WebSockets — find them by identifier or predicate,
//! send to one identifier or to many, close them. The sockets are in [`Shards`], as the event sources'
//! registry keeps its connections: opening or closing a socket locks one shard, and nothing sends while
//! a lock is held (the sockets are taken, the lock released, then they are sent to). On a backplane, what is sent
//! to an identifier, a prefix or everyone goes through the shared log to every node ([`relay`](super::relay)).

use std::fmt;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::http::streams::{Audience, Event, HttpEventSourceCollection, IdentifierPolicy, Published, Pushed, Shards};
use crate::http::websockets::relay::{self, Target};
use crate::http::websockets::{HttpWebSocket, WebSocketMessage};
use crate::Error;

/// The open WebSockets that have an identifier; reach it with
/// [`server.web_sockets()`](crate::http::HttpServer::web_sockets) (Sisk's
/// `HttpWebSocketConnectionCollection`).
///
/// A socket enters when `get_web_socket("id")` accepts it and leaves the moment it closes. A new socket
/// with an identifier already present follows the server's
/// [`IdentifierPolicy`](crate::http::streams::IdentifierPolicy), as event sources do: both stay (the
/// default), the new one replaces the old (closed with 1000), or the new one is refused with `409`.
///
/// Sending to an identifier, a prefix or everyone ([`send_to`](Self::send_to),
/// [`broadcast_prefix`](Self::broadcast_prefix), [`broadcast`](Self::broadcast)) answers what is known
/// when it returns, as the event sources' publishing does ([`Published`]): on one node how many sockets
/// took the message; on a [backplane](crate::backplane), where the message reaches the sockets of every
/// node through the shared log, `reached: None`, or an error when the broker cannot take it. (A
/// WebSocket message has no id: a socket cannot resume, so `id` is always `None`.)
///
/// ```
/// # use sisk::prelude::*;
/// # fn demo(server: &HttpServer) -> Result<(), sisk::Error> {
/// if let Some(ws) = server.web_sockets().get_by_identifier("room-1-ana") {
///     ws.send("Olá novamente!");
/// }
/// let room = server.web_sockets().broadcast_prefix("room-1-", "to the room")?;
/// let everyone = server.web_sockets().broadcast("to everyone")?;
/// # let _ = (room.reached, everyone);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpWebSocketCollection {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Shards<HttpWebSocket>,
    policy: IdentifierPolicy,
    /// The event sources' collection, whose log carries messages to the other nodes of a backplane.
    events: HttpEventSourceCollection,
}

impl HttpWebSocketCollection {
    pub(crate) fn new(policy: IdentifierPolicy, events: HttpEventSourceCollection) -> Self {
        HttpWebSocketCollection { inner: Arc::new(Inner { shards: Shards::default(), policy, events }) }
    }

    /// On a backplane, delivers to this node's sockets what any node sends through the shared log,
    /// from now on (called once, as the backplane starts). The task ends with the server.
    pub(crate) fn listen_to_backplane(&self) {
        if self.inner.events.backplane().is_none() {
            return;
        }
        let mut entries = self.inner.events.listen(relay::channel());
        let collection = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(text) = entries.recv().await {
                let Some(inner) = collection.upgrade() else {
                    return;
                };
                match relay::decode(&text) {
                    Some((target, message)) => {
                        HttpWebSocketCollection { inner }.deliver(&target, message);
                    }
                    None => tracing::warn!("a WebSocket message from the shared log could not be read; dropped"),
                }
            }
        });
    }

    /// Puts an identified socket in the collection, as the identifier policy says; the refusal of
    /// [`IdentifierPolicy::RejectNew`].
    pub(crate) fn register(&self, socket: &HttpWebSocket) -> Result<(), Error> {
        let Some(identifier) = socket.identifier() else {
            return Ok(());
        };
        let replaced = {
            let mut shard = self.inner.shards.of(identifier);
            let holders = shard.entry(Arc::from(identifier)).or_default();
            let replaced = match self.inner.policy {
                IdentifierPolicy::RejectNew if !holders.is_empty() => {
                    return Err(Error::identifier_in_use("a WebSocket", identifier));
                }
                IdentifierPolicy::Replace => std::mem::take(holders),
                _ => Vec::new(),
            };
            holders.push(socket.clone());
            socket.mark_registered();
            replaced
        };
        for old in replaced {
            tracing::debug!(identifier, "a new WebSocket replaces an open one");
            old.close_with(CloseCode::Normal, "replaced by a newer connection");
        }
        Ok(())
    }

    pub(crate) fn unregister(&self, socket: &HttpWebSocket) {
        if let Some(identifier) = socket.identifier() {
            self.inner.shards.remove(identifier, |holder| holder.ptr_eq(socket));
        }
    }

    /// The open socket with this identifier (the newest, if several).
    pub fn get_by_identifier(&self, identifier: &str) -> Option<HttpWebSocket> {
        self.inner.shards.get(identifier, HttpWebSocket::clone).pop()
    }

    /// The open sockets whose identifier satisfies `predicate`, which runs with no lock held.
    pub fn find(&self, predicate: impl Fn(&str) -> bool) -> Vec<HttpWebSocket> {
        self.inner.shards.find(predicate, HttpWebSocket::clone)
    }

    /// Every open identified socket.
    pub fn all(&self) -> Vec<HttpWebSocket> {
        self.find(|_| true)
    }

    /// How many identified sockets are open.
    pub fn active_connections(&self) -> usize {
        self.inner.shards.len()
    }

    /// Sends `message` to every open identified socket — on a backplane, of every node — sharing its
    /// payload. A socket whose queue is full is disconnected (its client is not reading), after the
    /// others got the message. Answers as the [collection](Self) says.
    pub fn broadcast(&self, message: impl Into<WebSocketMessage>) -> Result<Published, Error> {
        self.relay(Target::All, message.into())
    }

    /// Sends `message` to the open sockets whose identifier starts with `prefix` — on a backplane, of
    /// every node, each judging its own sockets. Answers as the [collection](Self) says.
    pub fn broadcast_prefix(&self, prefix: &str, message: impl Into<WebSocketMessage>) -> Result<Published, Error> {
        self.relay(Target::Prefix(prefix.to_owned()), message.into())
    }

    /// Sends `message` to every open socket with `identifier` (a user's tabs) — on a backplane, on
    /// every node. Answers as the [collection](Self) says: on one node `reached: Some(0)` when none is
    /// open.
    pub fn send_to(&self, identifier: &str, message: impl Into<WebSocketMessage>) -> Result<Published, Error> {
        self.relay(Target::Identifier(identifier.to_owned()), message.into())
    }

    /// Sends `message` to this node's open sockets whose identifier satisfies `predicate` (run with no
    /// lock held), and returns how many took it. A predicate cannot travel to other nodes: on a
    /// backplane, reach them with [`broadcast_prefix`](Self::broadcast_prefix) or
    /// [`send_to`](Self::send_to).
    pub fn broadcast_where(&self, predicate: impl Fn(&str) -> bool, message: impl Into<WebSocketMessage>) -> usize {
        send_all(self.find(predicate), message.into())
    }

    /// Sends `message` to `target`: through the shared log on a backplane, here otherwise.
    fn relay(&self, target: Target, message: WebSocketMessage) -> Result<Published, Error> {
        if self.inner.events.backplane().is_none() {
            let reached = self.deliver(&target, message);
            return Ok(Published { id: None, reached: Some(reached) });
        }
        let entry = Event::new().data(relay::encode(&target, &message));
        self.inner.events.publish(Audience::Identifier(relay::channel()), &entry)?;
        Ok(Published { id: None, reached: None })
    }

    /// Sends `message` to this node's sockets of `target`; how many took it.
    fn deliver(&self, target: &Target, message: WebSocketMessage) -> usize {
        let sockets = match target {
            Target::All => self.all(),
            Target::Prefix(prefix) => self.find(|id| id.starts_with(prefix.as_str())),
            Target::Identifier(identifier) => self.inner.shards.get(identifier, HttpWebSocket::clone),
        };
        send_all(sockets, message)
    }

    /// Closes every identified socket (each sends what it has queued, then its close frame).
    pub fn drop_all(&self) {
        for socket in self.all() {
            socket.close_with(CloseCode::Normal, "");
        }
    }
}

/// Queues one message for `sockets`: the frame is made once, and each queue holds the same payload. A
/// socket too slow to take it is disconnected once all the others have it.
fn send_all(sockets: Vec<HttpWebSocket>, message: WebSocketMessage) -> usize {
    let frame = message.into_frame();
    let mut reached = 0;
    let mut slow = Vec::new();
    for socket in sockets {
        match socket.offer(frame.clone()) {
            Pushed::Queued => reached += 1,
            Pushed::Full => slow.push(socket),
            Pushed::Closed => {}
        }
    }
    for socket in slow {
        socket.disconnect_slow_client();
    }
    reached
}

impl fmt::Debug for HttpWebSocketCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpWebSocketCollection").field("active_connections", &self.active_connections()).finish()
    }
}
