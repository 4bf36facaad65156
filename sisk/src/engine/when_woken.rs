//! [`WhenWoken`]: a future that is polled again only after it woke its task, so a future that rarely
//! fires (the server's shutdown signal, a connection's cut-off) can wait beside one that makes progress
//! all the time (a connection, an event stream's body) without being polled each time the other is.
//!
//! This matters on the per-event path: a tokio-util cancellation future takes two locks each time it is
//! polled (its token's, then its `Notify`'s), and the server's shutdown signal is one token shared by
//! every stream. Polled by every body at every event, it was the one lock all streams contended for.
//! Wrapped, it is polled once to register, then again only when the token wakes it; in between a poll
//! costs one load of a flag of the stream's own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A future polled only when it has asked to be (see the module docs).
#[derive(Debug)]
pub(crate) struct WhenWoken<F> {
    future: F,
    signal: Arc<Signal>,
    /// The waker the inner future is given: it raises the flag, then wakes the task.
    waker: Waker,
    /// The task's waker as last registered in `signal`, which holds it until it fires.
    registered: Option<Waker>,
}

/// Whether the inner future woke, and the task to wake when it does.
#[derive(Debug, Default)]
struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future + Unpin> WhenWoken<F> {
    pub(crate) fn new(future: F) -> Self {
        let signal = Arc::new(Signal::default());
        WhenWoken { future, waker: Waker::from(signal.clone()), signal, registered: None }
    }
}

impl<F: Future + Unpin> Future for WhenWoken<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let first = this.registered.is_none();
        let same_task = this.registered.as_ref().is_some_and(|registered| registered.will_wake(cx.waker()));
        // Nearly always: nothing happened, and the same task polls. One load, no read-modify-write. (A
        // wake raises the flag before it takes the registered waker: while the flag is down, the
        // waker is still there.)
        if same_task && !this.signal.woken.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        // Woken (its waker was taken), polled by another task, or polled for the first time: register,
        // then look at the flag again, so that a wake in between still reaches this task.
        this.signal.task.register(cx.waker());
        if !same_task {
            this.registered = Some(cx.waker().clone());
        }
        if !first && !this.signal.woken.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        // Lowered before the poll: a wake during it raises it again.
        this.signal.woken.store(false, Ordering::SeqCst);
        Pin::new(&mut this.future).poll(&mut Context::from_waker(&this.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    /// A future that counts its polls and is ready once `ready` is set (waking whoever polled it last).
    #[derive(Default)]
    struct Gate {
        polls: usize,
        ready: Arc<AtomicBool>,
        waker: Arc<AtomicWaker>,
    }

    impl Future for Gate {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            self.waker.register(cx.waker());
            if self.ready.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test]
    async fn the_inner_future_is_polled_once_then_only_after_it_woke() {
        let gate = Gate::default();
        let (ready, waker) = (gate.ready.clone(), gate.waker.clone());
        let mut wrapped = WhenWoken::new(gate);
        for _ in 0..10 {
            poll_fn(|cx| Poll::Ready(Pin::new(&mut wrapped).poll(cx).is_pending())).await;
        }
        assert_eq!(wrapped.future.polls, 1, "polled to register, then left alone");
        ready.store(true, Ordering::Release);
        waker.wake();
        assert!(poll_fn(|cx| Poll::Ready(Pin::new(&mut wrapped).poll(cx).is_ready())).await);
        assert_eq!(wrapped.future.polls, 2);
    }
}
