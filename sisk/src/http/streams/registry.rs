//! The registry of this node's identified connections: sixteen shards, each a map from identifier to the
//! connections open under it, locked one at a time. A connection's shard is a hash of its identifier, so
//! registering or closing one locks one shard, and a publish walks the shards in order
//! ([`Registry::walk`]) without ever holding a lock shared by the whole server.
//!
//! Each entry keeps, beside the connection, how far into the log it has been sent already (its replay,
//! or a cursor ahead of this node's window of a shared log): a delivery skips the connections that have
//! seen its position. The hooks of the collection (registered, unregistered, stale) are kept here too,
//! and run by the caller once it holds no lock.

use std::ops::Bound;
use std::sync::{Arc, MutexGuard, RwLock};

use crate::http::streams::audience::is_internal;
use crate::http::streams::shards::Shards;
pub(crate) use crate::http::streams::shards::{shard_of, SHARDS};
use crate::http::streams::{Audience, LocalEventSource, Position};
use crate::sync::{read, write};

/// A hook of the collection, run with no lock held.
pub(crate) type Hook = Arc<dyn Fn(&LocalEventSource) + Send + Sync>;

/// One open connection of this node, and how far into the log it was sent already.
#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) source: LocalEventSource,
    /// The entries of the log up to here reached the connection already (in its replay, or before it
    /// left the node it came from): they are not delivered to it again.
    pub(crate) seen_through: Position,
}

/// One shard of the registry (see [`Shards`]).
pub(crate) type Shard = crate::http::streams::shards::Shard<Registered>;

/// The identified connections of this node, sharded by identifier.
#[derive(Default)]
pub(crate) struct Registry {
    shards: Shards<Registered>,
    pub(crate) on_registered: RwLock<Vec<Hook>>,
    pub(crate) on_unregistered: RwLock<Vec<Hook>>,
    pub(crate) on_stale: RwLock<Vec<Hook>>,
}

impl Registry {
    /// The lock of shard `index`.
    pub(crate) fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards.lock(index)
    }

    /// Visits shards `0..=last` in order with hand-over-hand locking: shard 0 is `first`, locked by the
    /// caller (while it held the log's lock, so publishes enter the walk in log order); the next shard is
    /// locked before the previous one is released, so a later walk never overtakes this one. At most one
    /// shard is locked at a time by this walk, and never the log.
    pub(crate) fn walk(&self, first: MutexGuard<'_, Shard>, last: usize, mut visit: impl FnMut(usize, &mut Shard)) {
        let mut guard = first;
        visit(0, &mut guard);
        for index in 1..=last.min(SHARDS - 1) {
            let next = self.lock(index);
            drop(std::mem::replace(&mut guard, next));
            visit(index, &mut guard);
        }
    }

    /// Removes `source`; true when it was there.
    pub(crate) fn remove(&self, identifier: &str, source: &LocalEventSource) -> bool {
        self.shards.remove(identifier, |holder| holder.source.ptr_eq(source))
    }

    /// The connections under `identifier`, oldest first.
    pub(crate) fn get(&self, identifier: &str) -> Vec<LocalEventSource> {
        self.shards.get(identifier, |holder| holder.source.clone())
    }

    /// True when a connection is open under `identifier`.
    pub(crate) fn contains(&self, identifier: &str) -> bool {
        self.shards.contains(identifier)
    }

    /// The program's identifiers open now (not the framework's own streams), each once, taken shard by
    /// shard (no lock is held on return, so a predicate can judge them).
    pub(crate) fn identifiers(&self) -> Vec<Arc<str>> {
        self.shards.identifiers(|id| !is_internal(id))
    }

    /// Every open connection of the program whose identifier satisfies `predicate`, taken shard by
    /// shard: the identifiers are snapshot under each lock, and `predicate` runs with no lock held.
    pub(crate) fn find(&self, predicate: impl Fn(&str) -> bool) -> Vec<LocalEventSource> {
        self.shards.find(|id| !is_internal(id) && predicate(id), |holder| holder.source.clone())
    }

    /// How many connections are open.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Runs `hooks` for `source`; no lock is held while they run.
    pub(crate) fn fire(hooks: &RwLock<Vec<Hook>>, source: &LocalEventSource) {
        let hooks = read(hooks).clone();
        for hook in hooks {
            hook(source);
        }
    }

    /// Adds `hook` to `hooks`.
    pub(crate) fn add_hook(hooks: &RwLock<Vec<Hook>>, hook: Hook) {
        write(hooks).push(hook);
    }
}

/// Whom a delivery is for, worked out once before the walk: a list of identifiers is grouped by shard,
/// so each shard looks up only its own.
#[derive(Debug)]
pub(crate) enum Targets<'a> {
    /// Every connection.
    All,
    /// The connections under one identifier (only the one numbered `connection`, when given).
    One { identifier: &'a str, connection: Option<u64> },
    /// The connections whose identifier starts with this.
    Prefix(&'a str),
    /// The connections under these identifiers, by shard, each once.
    Listed(Vec<Vec<&'a str>>),
    /// Nobody here (a connection audience for another node).
    Nobody,
}

impl<'a> Targets<'a> {
    /// The targets of `audience` on the node named `node` (`None` without a backplane). An
    /// [`Audience::Where`] is judged before publishing and never reaches here: it targets nobody.
    pub(crate) fn of(audience: &'a Audience, node: Option<&str>) -> Self {
        match audience {
            Audience::All => Targets::All,
            Audience::Identifier(identifier) => Targets::One { identifier, connection: None },
            Audience::Connection { identifier, node: holder, connection } => match node == Some(&**holder) {
                true => Targets::One { identifier, connection: Some(*connection) },
                false => Targets::Nobody,
            },
            Audience::Prefix(prefix) => Targets::Prefix(prefix),
            Audience::Identifiers(identifiers) => {
                let mut listed = vec![Vec::new(); SHARDS];
                for identifier in identifiers.iter() {
                    listed[shard_of(identifier)].push(&**identifier);
                }
                for group in &mut listed {
                    group.sort_unstable();
                    group.dedup();
                }
                Targets::Listed(listed)
            }
            Audience::Where(_) => Targets::Nobody,
        }
    }

    /// The last shard a delivery must visit: it can stop there (nothing after is for it), but never
    /// skip the shards before it, or a later publish could overtake it on one of them.
    pub(crate) fn last_shard(&self) -> usize {
        match self {
            Targets::One { identifier, .. } => shard_of(identifier),
            Targets::Listed(listed) => listed.iter().rposition(|group| !group.is_empty()).unwrap_or(0),
            Targets::Nobody => 0,
            Targets::All | Targets::Prefix(_) => SHARDS - 1,
        }
    }

    /// Runs `offer` for each entry of shard `index` that is targeted.
    pub(crate) fn for_each(&self, index: usize, shard: &mut Shard, mut offer: impl FnMut(&mut Registered)) {
        match self {
            Targets::All => {
                shard.iter_mut().filter(|(id, _)| !is_internal(id)).flat_map(|(_, holders)| holders).for_each(offer)
            }
            Targets::One { identifier, connection } => {
                if shard_of(identifier) != index {
                    return;
                }
                let holders = shard.get_mut(*identifier).into_iter().flatten();
                holders.filter(|h| connection.is_none_or(|c| h.source.connection() == c)).for_each(offer);
            }
            Targets::Prefix(prefix) => shard
                .range_mut::<str, _>((Bound::Included(*prefix), Bound::Unbounded))
                .take_while(|(id, _)| id.starts_with(*prefix))
                .filter(|(id, _)| is_internal(id) == is_internal(prefix))
                .flat_map(|(_, holders)| holders)
                .for_each(offer),
            Targets::Listed(listed) => {
                for identifier in &listed[index] {
                    if let Some(holders) = shard.get_mut(*identifier) {
                        holders.iter_mut().for_each(&mut offer);
                    }
                }
            }
            Targets::Nobody => {}
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("shards", &SHARDS).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_fixed_and_spread() {
        // sisk/tests/sse_resume.rs races attaching against delivery on `racer-2`: in the last shard, the
        // one a delivery reaches last.
        assert_eq!(shard_of("racer-2"), SHARDS - 1);
        let mut used = [false; SHARDS];
        for n in 0..64 {
            used[shard_of(&format!("bystander-{n}"))] = true;
        }
        assert!(used.iter().filter(|used| **used).count() >= 12, "{used:?}");
    }

    #[test]
    fn a_delivery_stops_after_the_last_shard_its_audience_can_be_on() {
        let listed = Audience::Identifiers(vec!["racer-2".into(), "bystander-0".into()].into());
        assert_eq!(Targets::of(&listed, None).last_shard(), SHARDS - 1);
        let one = Audience::Identifier("bystander-0".into());
        assert_eq!(Targets::of(&one, None).last_shard(), shard_of("bystander-0"));
        assert_eq!(Targets::of(&Audience::Prefix("b".into()), None).last_shard(), SHARDS - 1);
        let elsewhere = Audience::Connection { identifier: "a".into(), node: "n2".into(), connection: 1 };
        assert!(matches!(Targets::of(&elsewhere, Some("n1")), Targets::Nobody));
    }
}
