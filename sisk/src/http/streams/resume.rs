//! [`ResumeState`]: what became of a connection's `Last-Event-ID` when it attached — nothing to resume,
//! every missed event sent again, or a stale cursor that the handler should answer with a snapshot.

use std::fmt;

/// How a new identified connection was resumed from the event log, read with
/// [`LocalEventSource::resume_state`](crate::http::streams::LocalEventSource::resume_state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeState {
    /// The client sent no `Last-Event-ID` (a first visit), or the connection has no identifier, or the
    /// log is turned off: nothing was replayed.
    Fresh,
    /// Every event the client missed that was meant for it was queued again, in order, before anything
    /// else: `events` of them (maybe none).
    Recovered {
        /// How many events were replayed.
        events: usize,
    },
    /// The client's position cannot be resumed without a gap: nothing was replayed, the stale event
    /// was sent instead, and the handler should send the client a fresh snapshot of its state.
    Stale {
        /// Why.
        reason: StaleReason,
    },
}

/// Why a `Last-Event-ID` could not be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaleReason {
    /// The id comes from another start of the log (the server restarted, or the broker lost its data).
    OtherEpoch,
    /// Events after the id were already dropped from the log (`max_events` or `max_age`).
    Trimmed,
    /// More events were missed than `replay_limit` allows to send again.
    TooManyEvents,
    /// The id is not one this log gives (another format, too long, or past the head).
    Unknown,
}

impl StaleReason {
    /// The reason as the data of the stale event: `other-epoch`, `trimmed`, `too-many-events`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            StaleReason::OtherEpoch => "other-epoch",
            StaleReason::Trimmed => "trimmed",
            StaleReason::TooManyEvents => "too-many-events",
            StaleReason::Unknown => "unknown",
        }
    }
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
