//! Backplanes: the engines that let many sisk nodes share one event log, so a broadcast reaches the
//! clients of every node, a send to an identifier reaches it wherever it is, and a client that
//! reconnects to another node resumes there with its `Last-Event-ID`.
//!
//! What is the same on one node and on many: the event log's window, its ids, the replay and the stale
//! signal ([`http::streams`](crate::http::streams)) — every node keeps the recent window in memory, so a
//! resume after a failover is a local lookup. What a backplane adds is only the order: it appends each
//! [`LogEntry`] to a shared log, which gives it its position, and hands every entry, in that order, to
//! every node's [`SharedLog`]. Without a backplane (the default), the server's own log gives positions
//! and nothing else changes.
//!
//! `RedisBackplane` (cargo feature `redis`) runs on Redis Streams. Another engine (NATS JetStream, say)
//! implements [`Backplane`] the same way.

pub(crate) mod cluster_view;
#[cfg(feature = "redis")]
mod master_switches;
mod presence;
mod records;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_access;
#[cfg(feature = "redis")]
mod redis_connection;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::http::streams::{Audience, Event, EventId, HttpEventSourceCollection, Position};
use crate::http::HttpServer;
use crate::Error;

pub use self::presence::{PresenceChange, PresenceEntry};
pub use self::records::SharedRecords;
#[cfg(feature = "redis")]
pub use self::redis::RedisBackplane;

/// A future a backplane returns, boxed so the trait stays object safe.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Where an appended entry's id (or the reason it could not be appended) is sent.
pub type AppendReply = oneshot::Sender<Result<EventId, Error>>;

/// An engine under the event log, shared by many nodes. Set one with
/// [`use_backplane`](crate::http::HttpServerHostContextBuilder::use_backplane).
pub trait Backplane: fmt::Debug + Send + Sync + 'static {
    /// Connects, brings `log` up to date (the shared log's epoch and its recent window), then keeps
    /// handing it every new entry, in the shared order, until the server stops. The returned future
    /// resolves once the node is ready to serve — or has said why it cannot be yet, and goes on trying in
    /// the background.
    fn start(self: Arc<Self>, log: SharedLog) -> BoxFuture<()>;

    /// Appends `entry` to the shared log. Fails at once when the entry cannot be taken (the broker is
    /// unreachable, or the outbox is full), and never drops an entry it took: `reply`, when given,
    /// receives its id once the shared log has it.
    fn append(&self, entry: LogEntry, reply: Option<AppendReply>) -> Result<(), Error>;

    /// How many identified connections the other live nodes last reported, together (this node's own
    /// are counted by the collection, live). Fails when the broker cannot be asked.
    fn other_nodes_connections(self: Arc<Self>) -> BoxFuture<Result<usize, Error>>;

    /// This node's name among the nodes of the shared log.
    fn node(&self) -> &str;

    /// The records this backplane keeps for every node ([`SharedRecords`]): what makes an MCP session
    /// served by any node. `None` (the default) keeps such state on the node that made it.
    fn records(self: Arc<Self>) -> Option<Arc<dyn SharedRecords>> {
        None
    }

    /// Tells the other nodes about a change to this node's connections, through the shared log, in
    /// order with the events. Best effort: presence is soft state, and an entry that cannot be
    /// appended is dropped (the nodes that missed it forget the connection when its node stops
    /// reporting).
    fn announce(&self, entry: PresenceEntry);
}

/// One event as the shared log carries it: the event, whom it is for, and what else each node does
/// with it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogEntry {
    /// Whom the event is for.
    pub audience: Audience,
    /// The event (its own id, if any, gives way to the log's).
    pub event: Event,
    /// The publish that waits for this entry, on the node that appended it: when that node's read side
    /// delivers the entry, it tells the waiting publish how many of its connections took it. Other
    /// nodes ignore it.
    pub origin: Option<Origin>,
    /// Every node closes the connections of the audience once the event is queued for them (what
    /// [`publish_and_close`](crate::http::streams::HttpEventSourceCollection::publish_and_close) appends).
    pub then_close: bool,
}

/// Which publish on which node waits for a [`LogEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The node that appended the entry.
    pub node: Arc<str>,
    /// The waiting publish, among that node's.
    pub sequence: u64,
}

impl LogEntry {
    /// An entry of `event` for `audience`, that nobody waits for and that closes nothing.
    pub fn new(audience: Audience, event: Event) -> Self {
        LogEntry { audience, event, origin: None, then_close: false }
    }

    /// The entry as field–value pairs, for an engine that stores records (`to`: the audience as `*`,
    /// `=<identifier>`, `^<prefix>`, `+<identifier>\n<identifier>…` or `@<node> <connection> <identifier>`;
    /// `or`: the origin as `<sequence> <node>`; `cl`: `1` to close; then the event's `event`, `data`,
    /// `retry` and `comment`). An audience given by a predicate cannot leave the process: that is an
    /// error that names the alternatives.
    pub fn to_fields(&self) -> Result<Vec<(&'static str, String)>, Error> {
        let audience = match &self.audience {
            Audience::All => "*".to_owned(),
            Audience::Identifier(identifier) => format!("={identifier}"),
            Audience::Prefix(prefix) => format!("^{prefix}"),
            Audience::Connection { identifier, node, connection } => format!("@{node} {connection} {identifier}"),
            // Identifiers hold no control character, so a line break separates them.
            Audience::Identifiers(identifiers) => format!("+{}", identifiers.join("\n")),
            Audience::Where(_) => return Err(Error::audience_not_portable()),
        };
        let mut fields = vec![("to", audience)];
        if let Some(origin) = &self.origin {
            fields.push(("or", format!("{} {}", origin.sequence, origin.node)));
        }
        if self.then_close {
            fields.push(("cl", "1".to_owned()));
        }
        fields.extend(self.event.wire_fields());
        Ok(fields)
    }

    /// The entry back from its fields; `None` when they are not an entry's.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<LogEntry> {
        let mut audience = None;
        let (mut origin, mut then_close) = (None, false);
        let mut event = Event::new();
        for (field, value) in fields {
            match field {
                "to" => {
                    audience = Some(match value.split_at_checked(1)? {
                        ("*", "") => Audience::All,
                        ("=", identifier) => Audience::Identifier(identifier.into()),
                        ("^", prefix) => Audience::Prefix(prefix.into()),
                        ("+", "") => Audience::Identifiers(Arc::from([])),
                        ("+", listed) => Audience::Identifiers(listed.split('\n').map(Arc::from).collect()),
                        ("@", target) => {
                            let (node, rest) = target.split_once(' ')?;
                            let (connection, identifier) = rest.split_once(' ')?;
                            let connection = connection.parse().ok()?;
                            Audience::Connection { identifier: identifier.into(), node: node.into(), connection }
                        }
                        _ => return None,
                    })
                }
                "or" => {
                    let (sequence, node) = value.split_once(' ')?;
                    origin = Some(Origin { node: node.into(), sequence: sequence.parse().ok()? });
                }
                "cl" => then_close = value == "1",
                other => event = event.with_wire_field(other, value)?,
            }
        }
        Some(LogEntry { audience: audience?, event, origin, then_close })
    }
}

/// A node's side of a shared log, handed to [`Backplane::start`]: the window the backplane fills and
/// the connections it reaches.
#[derive(Debug, Clone)]
pub struct SharedLog {
    server: HttpServer,
}

impl SharedLog {
    pub(crate) fn new(server: HttpServer) -> Self {
        SharedLog { server }
    }

    fn collection(&self) -> &HttpEventSourceCollection {
        self.server.event_sources()
    }

    /// How many events the window keeps: what a node loads when it starts.
    pub fn window_size(&self) -> usize {
        self.server.configuration().event_log.max_events
    }

    /// The epoch the window belongs to.
    pub fn epoch(&self) -> String {
        self.collection().log_epoch()
    }

    /// The shared log is under `epoch`. When that is another epoch than the window's (the broker lost
    /// its data, or this is the first time the node hears of it), the window empties and every open
    /// identified connection is sent the stale event (what it saw belongs to a log that is gone), then
    /// the collection's [stale hooks](crate::http::streams::HttpEventSourceCollection::on_event_source_stale)
    /// run for it. Replacing an epoch adopted before is logged as a warning; the first adoption, as
    /// a node joins, as an info line.
    pub fn set_epoch(&self, epoch: &str) {
        self.collection().adopt_epoch(epoch);
    }

    /// The window begins at `first`, in the middle of the shared log (the node loaded only its recent
    /// part): a cursor before it cannot be resumed here.
    pub fn starts_at(&self, first: Position) {
        self.collection().window_starts_at(first);
    }

    /// The position of the newest entry in the window.
    pub fn head(&self) -> Position {
        self.collection().head_position()
    }

    /// A presence entry the shared log placed at `position`, in order with the events.
    pub fn presence(&self, position: Position, entry: PresenceEntry) {
        self.collection().receive_presence(position, entry);
    }

    /// Only `live` nodes are running: forget the connections of the others.
    pub fn live_nodes(&self, live: &[String]) {
        self.collection().forget_nodes_but(live);
    }

    /// Adds the entry the shared log placed at `position` to the window and queues it for the open
    /// connections it is for. Entries must come in the shared order; one already in the window is ignored.
    pub fn receive(&self, position: Position, entry: LogEntry) {
        self.collection().receive(position, entry);
    }

    /// How many identified connections are open on this node.
    pub fn local_connections(&self) -> usize {
        self.collection().active_connections()
    }

    /// True once the server is stopping: the backplane should wind down.
    pub fn is_stopping(&self) -> bool {
        self.server.is_stopping()
    }

    /// Resolves when the server begins to stop.
    pub async fn stopping(&self) {
        self.server.stopping().cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn round_trip(entry: LogEntry) -> LogEntry {
        let fields = entry.to_fields().unwrap();
        LogEntry::from_fields(fields.iter().map(|(f, v)| (*f, v.as_str()))).unwrap()
    }

    #[test]
    fn entries_survive_their_fields() {
        let event = Event::new().event("chat").data("a\nb").retry(Duration::from_millis(1500)).comment("c");
        let one = Audience::Connection { identifier: "ana b".into(), node: "n1".into(), connection: 9 };
        let listed = Audience::Identifiers(vec!["ana".into(), "bob b".into()].into());
        let none = Audience::Identifiers(Arc::from([]));
        let audiences =
            [Audience::All, Audience::Identifier("ana".into()), Audience::Prefix("r/".into()), one, listed, none];
        for audience in audiences {
            let back = round_trip(LogEntry::new(audience.clone(), event.clone()));
            assert_eq!(back.event, event);
            assert_eq!(format!("{:?}", back.audience), format!("{audience:?}"));
            assert_eq!((back.origin, back.then_close), (None, false));
        }
        let plain = round_trip(LogEntry::new(Audience::All, Event::new()));
        assert_eq!(plain.event, Event::new());
        let origin = Origin { node: "node a".into(), sequence: 42 };
        let closing =
            LogEntry { origin: Some(origin.clone()), then_close: true, ..LogEntry::new(Audience::All, event) };
        let back = round_trip(closing);
        assert_eq!((back.origin, back.then_close), (Some(origin), true));
    }

    #[test]
    fn a_predicate_cannot_leave_the_process_and_garbage_is_no_entry() {
        let entry = LogEntry::new(Audience::matching(|_| true), Event::new());
        assert_eq!(entry.to_fields().unwrap_err().kind(), crate::ErrorKind::AudienceNotPortable);
        let garbage = [
            vec![],
            vec![("to", "?x")],
            vec![("to", "*"), ("retry", "soon")],
            vec![("to", "*"), ("x", "")],
            vec![("to", "*"), ("or", "x node")],
            vec![("to", "*"), ("or", "7")],
        ];
        for fields in garbage {
            assert!(LogEntry::from_fields(fields).is_none());
        }
    }
}
