//! [`HeadSlot`]: the way an event stream's or response stream's head reaches the pipeline that answers
//! its request, from whichever task commits it.
//!
//! It lives in the request's head, an allocation every request makes anyway, so a request that never
//! streams pays for no channel of its own: the pipeline looks in the slot only when a stage is still
//! running after a poll, and leaves its waker there for a head committed from another task (a broadcast
//! that sends a stream's first event, say).

use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::http::HttpResponse;
use crate::sync::lock;

/// A stream's head on its way to the pipeline.
#[derive(Debug, Default)]
pub(crate) struct HeadSlot(Mutex<Slot>);

#[derive(Debug, Default)]
enum Slot {
    /// No head yet; the pipeline's waker, once a stage of it has waited.
    #[default]
    Empty,
    Waiting(Waker),
    /// A head the pipeline has not taken yet (boxed: an open stream keeps its request's head, and with
    /// it this slot, for its whole life).
    Committed(Box<HttpResponse>),
    /// The pipeline took a head, or stopped looking: a head committed now is refused.
    Closed,
}

impl HeadSlot {
    /// Hands `head` to the pipeline, waking it; false when the pipeline no longer looks (the request is
    /// over, or a head went already): `head` is then dropped, out of the lock, and its body's drop ends
    /// the stream it carried.
    pub(crate) fn commit(&self, head: HttpResponse) -> bool {
        let mut slot = lock(&self.0);
        match std::mem::replace(&mut *slot, Slot::Closed) {
            Slot::Empty => *slot = Slot::Committed(Box::new(head)),
            Slot::Waiting(waker) => {
                *slot = Slot::Committed(Box::new(head));
                drop(slot);
                waker.wake();
            }
            previous @ (Slot::Committed(_) | Slot::Closed) => {
                *slot = previous;
                drop(slot);
                drop(head);
                return false;
            }
        }
        true
    }

    /// The committed head, or `Pending` with `cx`'s waker left for the commit.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<HttpResponse> {
        let mut slot = lock(&self.0);
        match std::mem::replace(&mut *slot, Slot::Closed) {
            Slot::Committed(head) => return Poll::Ready(*head),
            Slot::Waiting(waker) if waker.will_wake(cx.waker()) => *slot = Slot::Waiting(waker),
            Slot::Empty | Slot::Waiting(_) => *slot = Slot::Waiting(cx.waker().clone()),
            Slot::Closed => {}
        }
        Poll::Pending
    }

    /// The pipeline stops looking: the head committed meanwhile, if one was. A waker left here is dropped.
    pub(crate) fn close(&self) -> Option<HttpResponse> {
        match std::mem::replace(&mut *lock(&self.0), Slot::Closed) {
            Slot::Committed(head) => Some(*head),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;
    use crate::http::StatusCode;

    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_head_committed_while_the_pipeline_waits_wakes_it_and_is_taken_once() {
        let woken = Arc::new(Counted::default());
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let slot = HeadSlot::default();
        assert!(slot.poll_take(&mut cx).is_pending());
        assert!(slot.poll_take(&mut cx).is_pending(), "the same waker is kept, not cloned again");
        assert!(slot.commit(HttpResponse::from_status(StatusCode::OK)));
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert!(matches!(slot.poll_take(&mut cx), Poll::Ready(head) if head.status == StatusCode::OK));
        assert!(!slot.commit(HttpResponse::from_status(StatusCode::ACCEPTED)), "a second head is refused");
    }

    #[test]
    fn closing_gives_the_head_committed_meanwhile_and_refuses_later_ones() {
        let slot = HeadSlot::default();
        assert!(slot.commit(HttpResponse::from_status(StatusCode::OK)));
        assert_eq!(slot.close().map(|head| head.status), Some(StatusCode::OK));
        assert!(slot.close().is_none());
        assert!(!slot.commit(HttpResponse::new()), "nobody looks any more");
    }
}
