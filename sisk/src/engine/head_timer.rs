//! [`HeadTimer`]: the timer hyper arms for the header-read deadline of every request of an HTTP/1.1
//! connection (slow-header protection), made cheap to arm.
//!
//! hyper asks its timer for a new sleep at each request head and drops it once the head is read. With a
//! tokio sleep each, a kept-alive connection that waits for its next request registers that sleep in the
//! runtime's timer wheel (under the wheel's lock) and removes it again when the request comes: about
//! 1,700 instructions, a tenth of a small request. Here the sleeps of one connection share one tokio
//! sleep, made at its first wait and only ever pushed later — a connection's deadlines only grow, and
//! tokio pushes a registered timer later with a compare-and-swap, without the wheel's lock. The deadline
//! means the same as with hyper's own timer: a head not read in time ends the connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The header-read timer of one connection (give each connection its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadTimer {
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

/// One head's deadline, waited for on the connection's shared sleep.
#[derive(Debug)]
struct HeadSleep {
    deadline: tokio::time::Instant,
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep { deadline: deadline.into(), shared: self.shared.clone() })
    }
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Only the connection's own task polls it: the lock is never contended.
        let mut shared = crate::sync::lock(&self.shared);
        let sleep = shared.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(self.deadline)));
        if sleep.deadline() != self.deadline {
            sleep.as_mut().reset(self.deadline);
        }
        sleep.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HeadSleep {}

#[cfg(test)]
mod tests {
    use hyper::rt::Timer;
    use tokio::time::Instant;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_deadline_holds_on_the_shared_sleep() {
        let timer = HeadTimer::default();
        let start = Instant::now();
        timer.sleep_until((start + Duration::from_secs(1)).into_std()).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(1));
        // The next head: the shared sleep is pushed later, and fires then, not at once.
        timer.sleep_until((start + Duration::from_secs(6)).into_std()).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(6));
    }
}
