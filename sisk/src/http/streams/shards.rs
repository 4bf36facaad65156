//! [`Shards`]: connections by identifier in sixteen ordered maps, each behind a lock of its own, so that
//! opening or closing a connection locks one of them and nothing ever locks them all at once. The event
//! sources' [registry](super::registry) and the WebSockets' collection are each made of one; what they
//! keep per connection differs (an event source also how far into the log it was sent).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sync::lock;

/// How many shards there are.
pub(crate) const SHARDS: usize = 16;

/// The shard of `identifier` (a fixed hash: the same on every run).
pub(crate) fn shard_of(identifier: &str) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    identifier.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

/// One shard: its identifiers in order, so the connections of a prefix are one range of it, oldest first
/// under each identifier (several only with
/// [`IdentifierPolicy::AllowSeveral`](super::IdentifierPolicy::AllowSeveral)).
pub(crate) type Shard<T> = BTreeMap<Arc<str>, Vec<T>>;

/// Connections (`T`) by identifier, sharded.
pub(crate) struct Shards<T>([Mutex<Shard<T>>; SHARDS]);

impl<T> Default for Shards<T> {
    fn default() -> Self {
        Shards(std::array::from_fn(|_| Mutex::default()))
    }
}

impl<T> Shards<T> {
    /// The lock of shard `index`.
    pub(crate) fn lock(&self, index: usize) -> MutexGuard<'_, Shard<T>> {
        lock(&self.0[index])
    }

    /// The lock of the shard of `identifier`.
    pub(crate) fn of(&self, identifier: &str) -> MutexGuard<'_, Shard<T>> {
        self.lock(shard_of(identifier))
    }

    /// Removes the connections under `identifier` that `is` picks (the identifier goes once none is
    /// left); true when one was there.
    pub(crate) fn remove(&self, identifier: &str, is: impl Fn(&T) -> bool) -> bool {
        let mut shard = self.of(identifier);
        let Some(holders) = shard.get_mut(identifier) else {
            return false;
        };
        let before = holders.len();
        holders.retain(|holder| !is(holder));
        let removed = holders.len() < before;
        if holders.is_empty() {
            shard.remove(identifier);
        }
        removed
    }

    /// What `pick` takes of each connection under `identifier`, oldest first.
    pub(crate) fn get<X>(&self, identifier: &str, pick: impl Fn(&T) -> X) -> Vec<X> {
        self.of(identifier).get(identifier).map(|holders| holders.iter().map(pick).collect()).unwrap_or_default()
    }

    /// True when a connection is open under `identifier`.
    pub(crate) fn contains(&self, identifier: &str) -> bool {
        self.of(identifier).contains_key(identifier)
    }

    /// The identifiers `keep` accepts, each once, taken shard by shard.
    pub(crate) fn identifiers(&self, keep: impl Fn(&str) -> bool) -> Vec<Arc<str>> {
        let mut identifiers = Vec::new();
        for index in 0..SHARDS {
            identifiers.extend(self.lock(index).keys().filter(|id| keep(id)).cloned());
        }
        identifiers
    }

    /// What `pick` takes of every connection whose identifier satisfies `predicate`, shard by shard:
    /// each shard is snapshot under its lock, and `predicate` runs with no lock held.
    pub(crate) fn find<X>(&self, predicate: impl Fn(&str) -> bool, pick: impl Fn(&T) -> X) -> Vec<X> {
        let mut found = Vec::new();
        for index in 0..SHARDS {
            let snapshot: Vec<(Arc<str>, Vec<X>)> = self
                .lock(index)
                .iter()
                .map(|(id, holders)| (id.clone(), holders.iter().map(&pick).collect()))
                .collect();
            for (identifier, holders) in snapshot {
                if predicate(&identifier) {
                    found.extend(holders);
                }
            }
        }
        found
    }

    /// How many connections are open.
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS).map(|index| self.lock(index).values().map(Vec::len).sum::<usize>()).sum()
    }
}

impl<T> std::fmt::Debug for Shards<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards").field("shards", &SHARDS).finish_non_exhaustive()
    }
}
