//! The queue between the code that sends events and the body hyper writes to the socket: bounded,
//! shared by every handle of one connection, with the pending response head and the closed state.
//!
//! Everything that changes together sits under one mutex, held only for pointer-sized work (a push, a
//! pop, a flag); no `await` ever happens while it is held.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::{oneshot, Notify};

use crate::http::streams::StreamAborted;
use crate::http::HttpResponse;

/// The head of the stream's response, waiting for the first message, wait or close.
#[derive(Debug)]
pub(crate) struct PendingHead {
    pub(crate) headers: HeaderMap,
    pub(crate) slot: oneshot::Sender<HttpResponse>,
}

/// What happened to a message handed to [`Channel::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    Closed,
    Full,
}

/// How the stream's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// No more messages; the body sends what is queued, then ends cleanly.
    Closing,
    /// The body ends now (the client is gone, or is being disconnected).
    Ended,
    /// No more messages; the body sends what is queued, then ends with an error (its handler failed).
    Failing,
    /// Failing, with the queue sent: the body yields once, so the transport flushes what it holds, then
    /// ends with the error (an error at once would drop the last bytes with the connection).
    Breaking,
}

#[derive(Debug)]
struct State {
    head: Option<PendingHead>,
    queue: VecDeque<Bytes>,
    /// The bytes of the messages in `queue`.
    queued_bytes: usize,
    phase: Phase,
    body_waker: Option<Waker>,
    /// Someone waits in `send_async` for room: the next pop wakes them (otherwise a pop wakes no one).
    room_wanted: bool,
}

#[derive(Debug)]
pub(crate) struct Channel {
    state: Mutex<State>,
    /// Set once the head was taken, so a send after the first one does not lock to find it gone.
    head_taken: AtomicBool,
    limits: QueueLimits,
    /// Woken when the channel stops accepting messages.
    closed: Notify,
    /// Woken when the body takes a message off a queue (room for `send_async`).
    room: Notify,
    opened_at: Instant,
    /// Nanoseconds after `opened_at` of the last application message (pings do not count).
    last_message: AtomicU64,
    sent_bytes: AtomicU64,
}

/// How much may wait in a queue: messages, and bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub(crate) messages: usize,
    pub(crate) bytes: usize,
}

impl State {
    /// True when `incoming` more bytes do not fit. A queue always takes one message when it is empty, so
    /// a message larger than the byte bound can still be sent.
    fn is_full(&self, limits: QueueLimits, incoming: usize) -> bool {
        self.queue.len() >= limits.messages
            || (!self.queue.is_empty() && self.queued_bytes.saturating_add(incoming) > limits.bytes)
    }
}

impl Channel {
    pub(crate) fn new(head: PendingHead, limits: QueueLimits) -> Self {
        let state = State {
            head: Some(head),
            queue: VecDeque::new(),
            queued_bytes: 0,
            phase: Phase::Open,
            body_waker: None,
            room_wanted: false,
        };
        Channel {
            state: Mutex::new(state),
            head_taken: AtomicBool::new(false),
            limits: QueueLimits { messages: limits.messages.max(1), bytes: limits.bytes },
            closed: Notify::new(),
            room: Notify::new(),
            opened_at: Instant::now(),
            last_message: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the pending head's headers; `None` once the head was committed.
    pub(crate) fn with_pending_headers<T>(&self, f: impl FnOnce(&mut HeaderMap) -> T) -> Option<T> {
        self.lock().head.as_mut().map(|head| f(&mut head.headers))
    }

    /// Takes the pending head, once. After that, a load of a flag: every send asks.
    pub(crate) fn take_head(&self) -> Option<PendingHead> {
        if self.head_taken.load(Ordering::Acquire) {
            return None;
        }
        let head = self.lock().head.take();
        self.head_taken.store(true, Ordering::Release);
        head
    }

    /// Queues a message unless the channel is closed or full. An application message (not a ping, not a
    /// replay) passes the time it is sent at, read once per broadcast, not once per connection.
    pub(crate) fn push(&self, bytes: Bytes, application: Option<Instant>) -> Pushed {
        let waker = {
            let mut state = self.lock();
            if state.phase != Phase::Open {
                return Pushed::Closed;
            }
            if state.is_full(self.limits, bytes.len()) {
                return Pushed::Full;
            }
            state.queued_bytes += bytes.len();
            state.queue.push_back(bytes);
            state.body_waker.take()
        };
        if let Some(sent_at) = application {
            self.touch(sent_at);
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        Pushed::Queued
    }

    /// Waits until the queue has room for `incoming` bytes or the channel closes.
    pub(crate) async fn room(&self, incoming: usize) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.phase != Phase::Open || !state.is_full(self.limits, incoming) {
                    return;
                }
                state.room_wanted = true;
            }
            notified.await;
        }
    }

    /// The body's side: the next message, `None` at the end of the stream, an error at the end of a
    /// stream whose handler failed.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamAborted>>> {
        let mut state = self.lock();
        if state.phase == Phase::Ended {
            return Poll::Ready(None);
        }
        if let Some(bytes) = state.queue.pop_front() {
            state.queued_bytes -= bytes.len();
            let room_wanted = std::mem::take(&mut state.room_wanted);
            drop(state);
            self.sent_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            if room_wanted {
                self.room.notify_waiters();
            }
            return Poll::Ready(Some(Ok(bytes)));
        }
        match state.phase {
            Phase::Closing => return Poll::Ready(None),
            Phase::Failing => {
                state.phase = Phase::Breaking;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Phase::Breaking => {
                state.phase = Phase::Ended;
                return Poll::Ready(Some(Err(StreamAborted)));
            }
            Phase::Open | Phase::Ended => {}
        }
        if !state.body_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            state.body_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Stops accepting messages. `drain` lets the body send what is queued before it ends; otherwise the
    /// queue is dropped and the body ends now. Returns whether this call closed it.
    pub(crate) fn close(&self, drain: bool) -> bool {
        self.stop(|state| {
            if !drain {
                state.phase = Phase::Ended;
                state.queue.clear();
                state.queued_bytes = 0;
            } else if state.phase == Phase::Open {
                state.phase = Phase::Closing;
            }
        })
    }

    /// Stops accepting messages; the body sends what is queued, then ends with an error, so the client
    /// sees the stream break instead of end. Returns whether this call closed it.
    pub(crate) fn fail(&self) -> bool {
        self.stop(|state| {
            if matches!(state.phase, Phase::Open | Phase::Closing) {
                state.phase = Phase::Failing;
            }
        })
    }

    /// Applies `end` to the state, wakes the body, and, when the channel was open, whoever waits for it
    /// to close or for room. Returns whether it was open.
    fn stop(&self, end: impl FnOnce(&mut State)) -> bool {
        let (was_open, waker) = {
            let mut state = self.lock();
            let was_open = state.phase == Phase::Open;
            end(&mut state);
            (was_open, state.body_waker.take())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        if was_open {
            self.closed.notify_waiters();
            self.room.notify_waiters();
        }
        was_open
    }

    /// True until the response head was taken.
    pub(crate) fn head_pending(&self) -> bool {
        !self.head_taken.load(Ordering::Acquire)
    }

    /// True once the channel stopped accepting messages.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().phase != Phase::Open
    }

    /// Resolves once the channel is closed.
    pub(crate) async fn closed(&self) {
        let notified = self.closed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        notified.await;
    }

    /// Restarts the idle clock of `wait_for_fail` from `at`.
    fn touch(&self, at: Instant) {
        let nanos = u64::try_from(at.saturating_duration_since(self.opened_at).as_nanos()).unwrap_or(u64::MAX);
        self.last_message.store(nanos, Ordering::Relaxed);
    }

    /// When the last application message was sent (or the channel opened).
    pub(crate) fn last_message_at(&self) -> Instant {
        self.opened_at + std::time::Duration::from_nanos(self.last_message.load(Ordering::Relaxed))
    }

    /// Bytes handed to the transport so far.
    pub(crate) fn sent_bytes(&self) -> u64 {
        self.sent_bytes.load(Ordering::Relaxed)
    }

    /// Messages waiting for the client.
    pub(crate) fn queued(&self) -> usize {
        self.lock().queue.len()
    }
}
