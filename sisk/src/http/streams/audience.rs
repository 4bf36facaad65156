//! [`Audience`]: whom an event published through the collection is meant for. The log keeps it beside
//! the event, so a client that reconnects is sent what it missed that was meant for it, and only that.

use std::fmt;
use std::sync::Arc;

/// The first character of the identifiers the framework gives streams of its own (an MCP session's
/// streams, say). A program's identifiers cannot hold a control character, so they never collide, and
/// the audiences a program names ([`All`](Audience::All), a [`Prefix`](Audience::Prefix), a
/// [`Where`](Audience::Where)) never reach those streams: only their own identifier does.
pub(crate) const INTERNAL_MARK: char = '\u{1}';

/// True for an identifier the framework gave a stream of its own.
pub(crate) fn is_internal(identifier: &str) -> bool {
    identifier.starts_with(INTERNAL_MARK)
}

/// Whom a published event is for, judged by the identifier of each connection — those open now, and
/// those that reconnect later and replay the log.
#[derive(Clone)]
#[non_exhaustive]
pub enum Audience {
    /// Every identified connection.
    All,
    /// The connection with this identifier.
    Identifier(Arc<str>),
    /// The connections whose identifier starts with this prefix.
    Prefix(Arc<str>),
    /// The connections whose identifier satisfies the predicate. The collection judges it once, when
    /// the event is published, against the identifiers open then (on a backplane, on every node as far
    /// as this node knows), with no lock held — it may use the collection — and publishes the
    /// [`Identifiers`](Self::Identifiers) it accepts: a connection that opens later is not reached, nor
    /// sent it again when it reconnects.
    Where(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// The connections with one of these identifiers: what [`Where`](Self::Where) becomes when it is
    /// published, the same on one node and on a backplane (whose other nodes could not run a predicate).
    Identifiers(Arc<[Arc<str>]>),
    /// One connection that `node` of a backplane holds (what a remote handle's `send` publishes): live,
    /// only that connection; when replayed, whoever reconnects with its identifier.
    Connection {
        /// The connection's identifier.
        identifier: Arc<str>,
        /// The node that holds it.
        node: Arc<str>,
        /// Its number on that node.
        connection: u64,
    },
}

impl Audience {
    /// The connections whose identifier satisfies `predicate`.
    pub fn matching(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Audience::Where(Arc::new(predicate))
    }

    /// Whether a connection with `identifier` is meant.
    pub fn includes(&self, identifier: &str) -> bool {
        match self {
            Audience::All => !is_internal(identifier),
            Audience::Identifier(wanted) | Audience::Connection { identifier: wanted, .. } => identifier == &**wanted,
            Audience::Prefix(prefix) => {
                identifier.starts_with(&**prefix) && is_internal(prefix) == is_internal(identifier)
            }
            Audience::Identifiers(identifiers) => identifiers.iter().any(|wanted| identifier == &**wanted),
            Audience::Where(predicate) => !is_internal(identifier) && predicate(identifier),
        }
    }
}

impl fmt::Debug for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::All => f.write_str("All"),
            Audience::Identifier(identifier) => f.debug_tuple("Identifier").field(identifier).finish(),
            Audience::Prefix(prefix) => f.debug_tuple("Prefix").field(prefix).finish(),
            Audience::Where(_) => f.write_str("Where(..)"),
            Audience::Identifiers(identifiers) => f.debug_tuple("Identifiers").field(identifiers).finish(),
            Audience::Connection { identifier, node, connection } => f
                .debug_struct("Connection")
                .field("identifier", identifier)
                .field("node", node)
                .field("connection", connection)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_audience_includes_whom_it_names() {
        assert!(Audience::All.includes("anyone"));
        assert!(Audience::Identifier("ana".into()).includes("ana"));
        assert!(!Audience::Identifier("ana".into()).includes("anabel"));
        assert!(Audience::Prefix("room-1/".into()).includes("room-1/ana"));
        assert!(!Audience::Prefix("room-1/".into()).includes("room-10/ana"));
        assert!(Audience::matching(|id| id.len() == 3).includes("ana"));
        assert!(!Audience::All.includes("\u{1}mcp/s/1"), "a stream of the framework's own is not everyone's");
        assert!(!Audience::Prefix("".into()).includes("\u{1}mcp/s/1"));
        assert!(Audience::Identifier("\u{1}mcp/s/1".into()).includes("\u{1}mcp/s/1"));
        let listed = Audience::Identifiers(vec!["ana".into(), "bob".into()].into());
        assert!(listed.includes("bob") && !listed.includes("bo"));
    }
}
