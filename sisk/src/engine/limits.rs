//! Counts of what a server holds open at once — connections and event streams — each with its maximum.
//!
//! A count is one atomic integer: taking a place is a compare-and-swap that fails when the count is at its
//! maximum, and the place is given back when its [`OpenSlot`] is dropped, so an early return, a panic or a
//! cancelled task can never leak one. Nothing here is touched per event: a place is taken once per
//! connection or per stream.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// How many things of one kind are open, and how many may be (`0`: no maximum).
#[derive(Debug)]
pub(crate) struct OpenCount {
    open: AtomicUsize,
    maximum: usize,
    /// Set by the first refusal, cleared by the next place taken: a full server logs once, not once per
    /// client it turns away.
    full: AtomicBool,
}

impl OpenCount {
    pub(crate) fn new(maximum: usize) -> Arc<Self> {
        Arc::new(OpenCount { open: AtomicUsize::new(0), maximum, full: AtomicBool::new(false) })
    }

    /// Takes a place if there is one; it stays taken until the slot is dropped.
    pub(crate) fn try_open(self: &Arc<Self>) -> Option<OpenSlot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (self.maximum == 0 || open < self.maximum).then_some(open + 1)
            })
            .ok()?;
        if self.full.load(Ordering::Relaxed) {
            self.full.store(false, Ordering::Relaxed);
        }
        Some(OpenSlot(self.clone()))
    }

    /// Notes a refusal; true for the first since a place was last taken (the one worth a warning).
    pub(crate) fn first_refusal(&self) -> bool {
        !self.full.swap(true, Ordering::Relaxed)
    }

    /// How many are open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// The maximum (`0`: none).
    pub(crate) fn maximum(&self) -> usize {
        self.maximum
    }
}

/// One place in an [`OpenCount`], given back on drop.
#[derive(Debug)]
pub(crate) struct OpenSlot(Arc<OpenCount>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_refused_at_the_maximum_and_given_back_on_drop() {
        let count = OpenCount::new(2);
        let first = count.try_open().expect("room for one");
        let second = count.try_open().expect("room for two");
        assert!(count.try_open().is_none(), "full at two");
        assert_eq!(count.open(), 2);
        assert!(count.first_refusal() && !count.first_refusal(), "one warning per time it is full");
        drop(first);
        assert_eq!(count.open(), 1);
        let third = count.try_open().expect("room again");
        assert!(count.first_refusal(), "full again after a place was taken: worth a new warning");
        drop((second, third));
        assert_eq!(count.open(), 0);
    }

    #[test]
    fn zero_means_no_maximum() {
        let count = OpenCount::new(0);
        let slots: Vec<OpenSlot> = (0..1000).map(|_| count.try_open().expect("never full")).collect();
        assert_eq!(count.open(), 1000);
        drop(slots);
        assert_eq!(count.open(), 0);
    }

    #[test]
    fn racing_threads_never_pass_the_maximum() {
        let count = OpenCount::new(10);
        let peak = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (count, peak) = (count.clone(), peak.clone());
                scope.spawn(move || {
                    for _ in 0..2000 {
                        let held: Vec<OpenSlot> = (0..4).filter_map(|_| count.try_open()).collect();
                        peak.fetch_max(count.open(), Ordering::Relaxed);
                        drop(held);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::Relaxed) <= 10);
        assert_eq!(count.open(), 0);
    }
}
