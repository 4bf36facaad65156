//! [`ClusterView`]: what this node knows of the other nodes' identified connections, from the presence
//! entries of the shared log — to find them (`get_by_identifier`, `find`, `cluster_identifiers`), to
//! judge a predicate against them, and to let a newer connection on another node replace an older one
//! here. It knows nothing of this node's own connections beyond what [`receive_presence`] is handed.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::backplane::{PresenceChange, PresenceEntry};
use crate::http::streams::{is_internal, LocalEventSource, Position};
use crate::sync::{read, write};

/// Where another node holds a connection.
#[derive(Debug, Clone)]
pub(crate) struct RemoteConnection {
    pub(crate) node: Arc<str>,
    pub(crate) connection: u64,
}

/// The identified connections of the other nodes of the backplane, as their presence entries say.
#[derive(Debug, Default)]
pub(crate) struct ClusterView {
    remote: RwLock<HashMap<Arc<str>, Vec<RemoteConnection>>>,
}

/// What this node does about a presence entry, once the view is updated.
#[derive(Debug)]
pub(crate) enum PresenceAction {
    /// Nothing.
    None,
    /// This node's own connection's `Joined` entry was read back at this position.
    Joined(LocalEventSource, Position),
    /// Close these connections of this node (replaced by a newer one elsewhere, or asked to close).
    Close(Vec<LocalEventSource>),
}

impl ClusterView {
    /// A presence entry of the shared log at `position`, as seen by node `node`, whose connections under
    /// the entry's identifier are `holders`; `replace` with [`IdentifierPolicy::Replace`](crate::http::streams::IdentifierPolicy::Replace).
    ///
    /// A `Joined` entry of another node for an identifier open here replaces the connection here if
    /// that one joined first (its own `Joined` entry was read back already): the newer connection wins,
    /// on any node, as on one. One that has not been read back yet is the newer, and stays.
    pub(crate) fn receive_presence(
        &self,
        node: &str,
        replace: bool,
        holders: Vec<LocalEventSource>,
        position: Position,
        entry: PresenceEntry,
    ) -> PresenceAction {
        let own = &*entry.node == node;
        let this_one = || holders.iter().find(|holder| holder.connection() == entry.connection).cloned();
        match (entry.change, own) {
            (PresenceChange::Joined, true) => match this_one() {
                Some(local) => PresenceAction::Joined(local, position),
                None => PresenceAction::None,
            },
            (PresenceChange::Joined, false) => {
                let connection = RemoteConnection { node: entry.node.clone(), connection: entry.connection };
                write(&self.remote).entry(entry.identifier.clone()).or_default().push(connection);
                if !replace {
                    return PresenceAction::None;
                }
                let older: Vec<_> = holders.iter().filter(|holder| holder.has_joined()).cloned().collect();
                if !older.is_empty() {
                    tracing::debug!(identifier = ?entry.identifier, node = %entry.node, "a newer connection on another node replaces this one");
                }
                PresenceAction::Close(older)
            }
            (PresenceChange::Left, false) => {
                let mut remote = write(&self.remote);
                if let Some(connections) = remote.get_mut(&entry.identifier) {
                    connections.retain(|r| !(r.node == entry.node && r.connection == entry.connection));
                    if connections.is_empty() {
                        remote.remove(&entry.identifier);
                    }
                }
                PresenceAction::None
            }
            (PresenceChange::CloseRequested, true) => PresenceAction::Close(this_one().into_iter().collect()),
            _ => PresenceAction::None,
        }
    }

    /// Only the `live` nodes run: forget what the others held.
    pub(crate) fn forget_nodes_but(&self, live: &[String]) {
        write(&self.remote).retain(|_, connections| {
            connections.retain(|remote| live.iter().any(|node| **node == *remote.node));
            !connections.is_empty()
        });
    }

    /// True while the presence entries say `node` holds `connection` under `identifier`.
    pub(crate) fn is_open(&self, identifier: &str, node: &str, connection: u64) -> bool {
        read(&self.remote)
            .get(identifier)
            .is_some_and(|connections| connections.iter().any(|r| &*r.node == node && r.connection == connection))
    }

    /// The identifiers open on other nodes, each once.
    pub(crate) fn identifiers(&self) -> Vec<Arc<str>> {
        read(&self.remote).keys().filter(|id| !is_internal(id)).cloned().collect()
    }

    /// The other nodes' connections whose identifier `accepts` (a snapshot: `accepts` runs with no lock
    /// held).
    pub(crate) fn connections(&self, accepts: impl Fn(&str) -> bool) -> Vec<(Arc<str>, RemoteConnection)> {
        let snapshot: Vec<(Arc<str>, Vec<RemoteConnection>)> = read(&self.remote)
            .iter()
            .filter(|(id, _)| !is_internal(id))
            .map(|(id, connections)| (id.clone(), connections.clone()))
            .collect();
        snapshot
            .into_iter()
            .filter(|(identifier, _)| accepts(identifier))
            .flat_map(|(identifier, connections)| connections.into_iter().map(move |r| (identifier.clone(), r)))
            .collect()
    }
}
