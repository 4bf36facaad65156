//! The queue between the code that sends events and the body hyper writes to the socket: bounded,
//! shared by every handle of one connection, with the pending response head and the closed state.
//!
//! Everything that changes together sits under one mutex, held only for pointer-sized work (a push, a
//! pop, a flag); no `await` ever happens while it is held.
//!
//! What it queues is bytes for an event stream or a response stream, and whole messages for a
//! WebSocket ([`Queued`]): the bounds, the slow-consumer policy and the way a stream ends are the same.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::Notify;

use crate::http::streams::StreamAborted;

/// What a channel can queue: anything whose size in bytes the byte bound can count.
pub(crate) trait Queued {
    /// The bytes it will put on the wire (near enough: a WebSocket frame's header is not counted).
    fn size(&self) -> usize;
}

impl Queued for Bytes {
    fn size(&self) -> usize {
        self.len()
    }
}

/// The head of the stream's response, waiting for the first message, wait or close.
#[derive(Debug)]
pub(crate) struct PendingHead {
    pub(crate) headers: HeaderMap,
}

/// What happened to a message handed to [`Channel::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    Closed,
    Full,
}

/// How [`Channel::close`] ends a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    /// The body sends what is queued, then ends cleanly.
    Flush,
    /// The queue is dropped and the body ends now.
    Discard,
}

/// How the request that opened a stream ended: what [`Channel::end_of_request`] is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestOutcome {
    /// The handler returned an answer that is not a server error.
    Completed,
    /// The handler failed: it answered a server error (5xx), or it panicked.
    Failed,
}

/// What [`Channel::end_of_request`] did to the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The head had not gone out: it is dropped with the stream, so the handler's own response answers.
    HeadDropped,
    /// The stream had begun and the handler failed: the body sends what is queued (and the last frame),
    /// then breaks, so the client does not mistake the failure for a clean end.
    Broken,
    /// The stream had begun and the handler completed: the body sends what is queued, then ends cleanly.
    Closed,
    /// The stream had already stopped (closed by the handler, by the client leaving, …): nothing changed.
    AlreadyClosed,
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
struct State<T> {
    head: Option<PendingHead>,
    queue: VecDeque<T>,
    /// The bytes of the messages in `queue`.
    queued_bytes: usize,
    phase: Phase,
    body_waker: Option<Waker>,
    /// Someone waits in `send_async` for room: the next pop wakes them (otherwise a pop wakes no one).
    room_wanted: bool,
}

#[derive(Debug)]
pub(crate) struct Channel<T = Bytes> {
    state: Mutex<State<T>>,
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

impl<T> State<T> {
    /// True when `incoming` more bytes do not fit. A queue always takes one message when it is empty, so
    /// a message larger than the byte bound can still be sent.
    fn is_full(&self, limits: QueueLimits, incoming: usize) -> bool {
        self.queue.len() >= limits.messages
            || (!self.queue.is_empty() && self.queued_bytes.saturating_add(incoming) > limits.bytes)
    }
}

impl<T: Queued> Channel<T> {
    pub(crate) fn new(head: PendingHead, limits: QueueLimits) -> Self {
        Channel::with_head(Some(head), Phase::Open, limits)
    }

    /// A channel that never opens: no head, no message, closed from the start (a refused stream's).
    pub(crate) fn refused() -> Self {
        let channel = Channel::with_head(None, Phase::Ended, QueueLimits { messages: 1, bytes: 0 });
        channel.head_taken.store(true, Ordering::Release);
        channel
    }

    /// A channel whose head is not its to send (a WebSocket's, which goes out with the handshake).
    #[cfg(feature = "websockets")]
    pub(crate) fn headless(limits: QueueLimits) -> Self {
        let channel = Channel::with_head(None, Phase::Open, limits);
        channel.head_taken.store(true, Ordering::Release);
        channel
    }

    fn with_head(head: Option<PendingHead>, phase: Phase, limits: QueueLimits) -> Self {
        let state =
            State { head, queue: VecDeque::new(), queued_bytes: 0, phase, body_waker: None, room_wanted: false };
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

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every critical section leaves the state consistent, so a poisoned lock is still usable.
        crate::sync::lock(&self.state)
    }

    /// Runs `f` on the pending head's headers; `None` once the head was committed.
    pub(crate) fn with_pending_headers<R>(&self, f: impl FnOnce(&mut HeaderMap) -> R) -> Option<R> {
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
    pub(crate) fn push(&self, item: T, application: Option<Instant>) -> Pushed {
        let waker = {
            let mut state = self.lock();
            if state.phase != Phase::Open {
                return Pushed::Closed;
            }
            let size = item.size();
            if state.is_full(self.limits, size) {
                return Pushed::Full;
            }
            state.queued_bytes += size;
            state.queue.push_back(item);
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
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Result<T, StreamAborted>>> {
        let mut state = self.lock();
        if state.phase == Phase::Ended {
            return Poll::Ready(None);
        }
        if let Some(item) = state.queue.pop_front() {
            let size = item.size();
            state.queued_bytes -= size;
            let room_wanted = std::mem::take(&mut state.room_wanted);
            drop(state);
            self.sent_bytes.fetch_add(size as u64, Ordering::Relaxed);
            if room_wanted {
                self.room.notify_waiters();
            }
            return Poll::Ready(Some(Ok(item)));
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

    /// Stops accepting messages, ending the body as `closing` says. Returns whether this call closed it.
    pub(crate) fn close(&self, closing: Closing) -> bool {
        self.stop(|state| match closing {
            Closing::Discard => {
                state.phase = Phase::Ended;
                state.queue.clear();
                state.queued_bytes = 0;
            }
            Closing::Flush if state.phase == Phase::Open => state.phase = Phase::Closing,
            Closing::Flush => {}
        })
    }

    /// Drops the messages waiting in the queue and keeps the channel open; returns how many were dropped.
    /// A sender waiting for room is woken: there is room now.
    pub(crate) fn clear(&self) -> usize {
        let dropped = {
            let mut state = self.lock();
            state.queued_bytes = 0;
            let dropped = state.queue.len();
            state.queue.clear();
            state.room_wanted = false;
            dropped
        };
        self.room.notify_waiters();
        dropped
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

    /// The request that opened the stream is over, as `outcome` says: the one rule for how a stream
    /// ends with its request, for event streams and response streams alike.
    ///
    /// A head that never went out is dropped, and the queue with it, so the handler's own response
    /// answers ([`Ended::HeadDropped`]). A stream that began and is still open ends cleanly when the
    /// request [completed](RequestOutcome::Completed) ([`Ended::Closed`]: what is queued is sent first);
    /// when it [failed](RequestOutcome::Failed), `last_frame` (an event stream's `retry:`) is queued after
    /// what waits, and the body breaks once it is all sent ([`Ended::Broken`]). Anything else was already
    /// stopped ([`Ended::AlreadyClosed`]); a failure still turns a clean close that is still flushing into
    /// a break.
    pub(crate) fn end_of_request(&self, outcome: RequestOutcome, last_frame: Option<T>) -> Ended {
        if self.take_head().is_some() {
            self.close(Closing::Discard);
            return Ended::HeadDropped;
        }
        match outcome {
            RequestOutcome::Completed if self.close(Closing::Flush) => Ended::Closed,
            RequestOutcome::Completed => Ended::AlreadyClosed,
            RequestOutcome::Failed => {
                if let Some(frame) = last_frame {
                    self.push(frame, None);
                }
                if self.fail() {
                    Ended::Broken
                } else {
                    Ended::AlreadyClosed
                }
            }
        }
    }

    /// Applies `end` to the state, wakes the body, and, when the channel was open, whoever waits for it
    /// to close or for room. Returns whether it was open.
    fn stop(&self, end: impl FnOnce(&mut State<T>)) -> bool {
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

#[cfg(test)]
mod tests {
    use std::task::{Context, Poll};

    use super::*;

    fn channel(messages: usize, bytes: usize) -> Channel {
        Channel::new(PendingHead { headers: HeaderMap::new() }, QueueLimits { messages, bytes })
    }

    fn pop(channel: &Channel) -> Poll<Option<Result<Bytes, StreamAborted>>> {
        channel.poll_pop(&mut Context::from_waker(futures_util::task::noop_waker_ref()))
    }

    fn popped(channel: &Channel) -> Option<Bytes> {
        match pop(channel) {
            Poll::Ready(Some(Ok(bytes))) => Some(bytes),
            _ => None,
        }
    }

    #[test]
    fn a_queue_is_full_at_its_message_bound_or_its_byte_bound() {
        let by_count = channel(2, 1024);
        assert_eq!(by_count.push(Bytes::from_static(b"a"), None), Pushed::Queued);
        assert_eq!(by_count.push(Bytes::from_static(b"b"), None), Pushed::Queued);
        assert_eq!(by_count.push(Bytes::from_static(b"c"), None), Pushed::Full);

        let by_bytes = channel(100, 10);
        assert_eq!(
            by_bytes.push(Bytes::from(vec![0; 64]), None),
            Pushed::Queued,
            "an empty queue takes any one message"
        );
        assert_eq!(by_bytes.push(Bytes::from_static(b"x"), None), Pushed::Full);
        assert_eq!(popped(&by_bytes).map(|b| b.len()), Some(64));
        assert_eq!(by_bytes.push(Bytes::from_static(b"x"), None), Pushed::Queued, "room again once popped");
    }

    #[test]
    fn messages_come_out_in_order_and_an_empty_open_queue_waits() {
        let channel = channel(8, 1024);
        for message in [&b"one"[..], b"two"] {
            channel.push(Bytes::from_static(message), None);
        }
        assert_eq!(popped(&channel).as_deref(), Some(&b"one"[..]));
        assert_eq!(popped(&channel).as_deref(), Some(&b"two"[..]));
        assert!(pop(&channel).is_pending());
        assert_eq!(channel.sent_bytes(), 6);
    }

    #[test]
    fn closing_with_flush_sends_the_queue_then_ends() {
        let channel = channel(8, 1024);
        channel.push(Bytes::from_static(b"last"), None);
        assert!(channel.close(Closing::Flush));
        assert!(!channel.close(Closing::Flush), "only the first close closes");
        assert_eq!(channel.push(Bytes::from_static(b"late"), None), Pushed::Closed);
        assert_eq!(popped(&channel).as_deref(), Some(&b"last"[..]));
        assert!(matches!(pop(&channel), Poll::Ready(None)));
    }

    #[test]
    fn closing_with_discard_drops_the_queue_and_ends_now() {
        let channel = channel(8, 1024);
        channel.push(Bytes::from_static(b"dropped"), None);
        channel.close(Closing::Discard);
        assert_eq!(channel.queued(), 0);
        assert!(matches!(pop(&channel), Poll::Ready(None)));
    }

    #[test]
    fn failing_sends_the_queue_yields_once_then_breaks_the_body() {
        let channel = channel(8, 1024);
        channel.push(Bytes::from_static(b"before the failure"), None);
        assert!(channel.fail());
        assert!(popped(&channel).is_some());
        assert!(pop(&channel).is_pending(), "one yield, so the transport flushes what it holds");
        assert!(matches!(pop(&channel), Poll::Ready(Some(Err(StreamAborted)))));
        assert!(matches!(pop(&channel), Poll::Ready(None)));
    }

    #[test]
    fn clearing_drops_what_waits_and_keeps_the_channel_open() {
        let channel = channel(2, 1024);
        channel.push(Bytes::from_static(b"a"), None);
        channel.push(Bytes::from_static(b"b"), None);
        assert_eq!(channel.clear(), 2);
        assert!(!channel.is_closed());
        assert_eq!(channel.push(Bytes::from_static(b"after"), None), Pushed::Queued, "room again");
        assert_eq!(popped(&channel).as_deref(), Some(&b"after"[..]));
    }

    #[test]
    fn only_application_messages_restart_the_idle_clock() {
        let channel = channel(8, 1024);
        let opened = channel.last_message_at();
        channel.push(Bytes::from_static(b": ping"), None);
        assert_eq!(channel.last_message_at(), opened);
        let later = opened + std::time::Duration::from_secs(3);
        channel.push(Bytes::from_static(b"data: x"), Some(later));
        assert_eq!(channel.last_message_at(), later);
    }

    /// Drains the body: the messages, and whether it ended cleanly (`Some(true)`), broke (`Some(false)`),
    /// or still waits (`None`). The one yield of a failing body is taken.
    fn drain(channel: &Channel) -> (Vec<Bytes>, Option<bool>) {
        let mut messages = Vec::new();
        let mut yielded = false;
        loop {
            match pop(channel) {
                Poll::Ready(Some(Ok(bytes))) => messages.push(bytes),
                Poll::Ready(Some(Err(StreamAborted))) => return (messages, Some(false)),
                Poll::Ready(None) => return (messages, Some(true)),
                Poll::Pending if !yielded => yielded = true,
                Poll::Pending => return (messages, None),
            }
        }
    }

    fn retry() -> Option<Bytes> {
        Some(Bytes::from_static(b"retry: 10000\n\n"))
    }

    #[test]
    fn a_head_never_sent_is_dropped_whatever_the_outcome() {
        for outcome in [RequestOutcome::Completed, RequestOutcome::Failed] {
            let pending =
                Channel::new(PendingHead { headers: HeaderMap::new() }, QueueLimits { messages: 8, bytes: 1024 });
            pending.push(Bytes::from_static(b"replayed before the head"), None);
            assert_eq!(pending.end_of_request(outcome, retry()), Ended::HeadDropped, "{outcome:?}");
            assert!(pending.take_head().is_none(), "the head never reaches the server: its response answers");
            assert!(pending.is_closed());
            assert_eq!(drain(&pending), (Vec::new(), Some(true)), "{outcome:?}: nothing queued is sent");
        }
    }

    #[test]
    fn a_stream_that_began_ends_cleanly_when_its_request_completed() {
        let channel = channel(8, 1024);
        channel.take_head();
        channel.push(Bytes::from_static(b"last"), None);
        assert_eq!(channel.end_of_request(RequestOutcome::Completed, retry()), Ended::Closed);
        assert_eq!(drain(&channel), (vec![Bytes::from_static(b"last")], Some(true)), "no retry frame on a clean end");
    }

    #[test]
    fn a_stream_that_began_breaks_after_its_last_frame_when_its_request_failed() {
        let channel = channel(8, 1024);
        channel.take_head();
        channel.push(Bytes::from_static(b"one"), None);
        assert_eq!(channel.end_of_request(RequestOutcome::Failed, retry()), Ended::Broken);
        let (messages, clean) = drain(&channel);
        assert_eq!(messages, vec![Bytes::from_static(b"one"), retry().unwrap()]);
        assert_eq!(clean, Some(false), "the body breaks instead of ending");

        let without_frame = self::channel(8, 1024);
        without_frame.take_head();
        assert_eq!(without_frame.end_of_request(RequestOutcome::Failed, None), Ended::Broken);
        assert_eq!(drain(&without_frame), (Vec::new(), Some(false)));
    }

    #[test]
    fn a_stream_already_stopped_is_left_as_it_is() {
        let discarded = channel(8, 1024);
        discarded.take_head();
        discarded.close(Closing::Discard);
        for outcome in [RequestOutcome::Completed, RequestOutcome::Failed] {
            assert_eq!(discarded.end_of_request(outcome, retry()), Ended::AlreadyClosed, "{outcome:?}");
        }
        assert_eq!(drain(&discarded), (Vec::new(), Some(true)), "no retry frame into a stream already gone");

        let closed = channel(8, 1024);
        closed.take_head();
        closed.close(Closing::Flush);
        assert_eq!(closed.end_of_request(RequestOutcome::Completed, None), Ended::AlreadyClosed);
        assert_eq!(drain(&closed), (Vec::new(), Some(true)));
        // The second end (a 5xx answer, then the request's drop) changes nothing.
        let twice = channel(8, 1024);
        twice.take_head();
        assert_eq!(twice.end_of_request(RequestOutcome::Failed, retry()), Ended::Broken);
        assert_eq!(twice.end_of_request(RequestOutcome::Completed, None), Ended::AlreadyClosed);
        assert_eq!(drain(&twice).1, Some(false), "still broken, not turned into a clean end");
    }

    #[test]
    fn a_refused_channel_is_closed_from_the_start_and_takes_nothing() {
        let refused = Channel::refused();
        assert!(refused.is_closed() && !refused.head_pending());
        assert!(refused.take_head().is_none());
        assert_eq!(refused.push(Bytes::from_static(b"x"), None), Pushed::Closed);
        assert_eq!(refused.end_of_request(RequestOutcome::Failed, retry()), Ended::AlreadyClosed);
        assert_eq!(drain(&refused), (Vec::new(), Some(true)));
    }

    #[tokio::test]
    async fn a_sender_waiting_for_room_is_let_in_by_a_pop_and_by_a_close() {
        let channel = std::sync::Arc::new(channel(1, 1024));
        channel.push(Bytes::from_static(b"full"), None);
        let waiting = tokio::spawn({
            let channel = channel.clone();
            async move { channel.room(4).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room yet");
        assert!(popped(&channel).is_some());
        tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.unwrap().unwrap();

        channel.push(Bytes::from_static(b"full"), None);
        let waiting = tokio::spawn({
            let channel = channel.clone();
            async move { channel.room(4).await }
        });
        tokio::task::yield_now().await;
        channel.close(Closing::Discard);
        tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.unwrap().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), channel.closed()).await.unwrap();
    }
}
