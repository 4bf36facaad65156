//! [`PresenceEntry`]: what a node tells the others about its identified connections, through the shared
//! log, so every node knows which identifiers are open where — to find them
//! (`get_by_identifier`, `find`), to close them, and to let a newer connection replace an older one with
//! the same identifier on another node, as one node does.

use std::sync::Arc;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceChange {
    /// A connection with this identifier opened on the node.
    Joined,
    /// It closed.
    Left,
    /// Another node asks the node that holds it to close it.
    CloseRequested,
}

/// One change to the presence of an identified connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceEntry {
    /// What changed.
    pub change: PresenceChange,
    /// The connection's identifier.
    pub identifier: Arc<str>,
    /// The node that holds the connection.
    pub node: Arc<str>,
    /// The connection, among that node's connections.
    pub connection: u64,
}

impl PresenceEntry {
    /// The entry as field–value pairs (`pr`: `join`, `leave` or `close`; `id`, `node`, `conn`).
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let change = match self.change {
            PresenceChange::Joined => "join",
            PresenceChange::Left => "leave",
            PresenceChange::CloseRequested => "close",
        };
        vec![
            ("pr", change.to_owned()),
            ("id", self.identifier.to_string()),
            ("node", self.node.to_string()),
            ("conn", self.connection.to_string()),
        ]
    }

    /// The entry back from its fields; `None` when they are not a presence entry's.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<PresenceEntry> {
        let (mut change, mut identifier, mut node, mut connection) = (None, None, None, None);
        for (field, value) in fields {
            match field {
                "pr" => {
                    change = Some(match value {
                        "join" => PresenceChange::Joined,
                        "leave" => PresenceChange::Left,
                        "close" => PresenceChange::CloseRequested,
                        _ => return None,
                    })
                }
                "id" => identifier = Some(Arc::from(value)),
                "node" => node = Some(Arc::from(value)),
                "conn" => connection = Some(value.parse().ok()?),
                _ => return None,
            }
        }
        Some(PresenceEntry { change: change?, identifier: identifier?, node: node?, connection: connection? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_their_fields_and_garbage_is_none() {
        for change in [PresenceChange::Joined, PresenceChange::Left, PresenceChange::CloseRequested] {
            let entry = PresenceEntry { change, identifier: "ana".into(), node: "n1".into(), connection: 7 };
            let fields = entry.to_fields();
            assert_eq!(PresenceEntry::from_fields(fields.iter().map(|(f, v)| (*f, v.as_str()))), Some(entry));
        }
        assert_eq!(PresenceEntry::from_fields([("pr", "join"), ("id", "a"), ("node", "n")]), None);
        assert_eq!(PresenceEntry::from_fields([("pr", "wave"), ("id", "a"), ("node", "n"), ("conn", "1")]), None);
    }
}
