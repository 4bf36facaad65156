//! The event log: a bounded, ordered window of the events published through the collection, each with
//! the [`EventId`] it was sent with and the [`Audience`] it was meant for. A connection that arrives
//! with `Last-Event-ID` is sent again what it missed, or, when that cannot be done without a gap, a
//! stale signal — never a silent partial replay.
//!
//! The log knows nothing of connections or sockets: [the collection](super::HttpEventSourceCollection)
//! holds it under the lock that orders publishing and attaching, and hands it the identifier and cursor
//! of each connection that attaches.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::http::streams::event_id::{new_epoch, now_millis, MAX_EVENT_ID_LEN};
use crate::http::streams::{is_internal, Audience, Event, EventId, Position, ResumeState, StaleReason};

/// The bounds of a server's event log, set in
/// [`HttpServerConfiguration::event_log`](crate::http::HttpServerConfiguration::event_log).
///
/// ```
/// use std::time::Duration;
/// use sisk::prelude::*;
///
/// let app = HttpServer::create_builder()
///     .use_listening_port("http://127.0.0.1:0/")
///     .use_configuration(|config| {
///         config.event_log.max_events = 50_000;
///         config.event_log.max_age = Duration::from_secs(15 * 60);
///     })
///     .build()
///     .unwrap();
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventLogOptions {
    /// How many events the log keeps (default 10,000); `0` turns the log off: events are still sent
    /// live, without ids, and no connection is resumed.
    pub max_events: usize,
    /// How long an event stays in the log (default 5 minutes).
    pub max_age: Duration,
    /// The most events one reconnecting client is sent again (default 1,000); a client that missed more
    /// gets the stale signal instead (a snapshot is cheaper than a long replay).
    pub replay_limit: usize,
    /// The name of the event that tells a client its `Last-Event-ID` could not be resumed (default
    /// `stale`); its data is the [reason](StaleReason::as_str) and its id the log's head.
    pub stale_event_name: String,
}

impl Default for EventLogOptions {
    fn default() -> Self {
        EventLogOptions {
            max_events: 10_000,
            max_age: Duration::from_secs(5 * 60),
            replay_limit: 1_000,
            stale_event_name: "stale".to_owned(),
        }
    }
}

/// One event in the window.
#[derive(Debug)]
struct Entry {
    position: Position,
    audience: Audience,
    /// The encoded event, its `id:` included.
    frame: Bytes,
    /// Published as the last event of its connections (`publish_and_close`): a replay stops after it
    /// and closes the connection, as the live delivery did.
    closes: bool,
    added: Instant,
}

/// What a connection that attaches is sent before anything else, and how it was resumed.
#[derive(Debug)]
pub(crate) struct Resumption {
    pub(crate) state: ResumeState,
    /// The replayed events (or the stale event), then a frame that moves the client's cursor to the
    /// head; empty when the log is off.
    pub(crate) frames: Bytes,
    /// A cursor ahead of this node's window (a shared log this node has not read that far yet): the
    /// events up to it must not be delivered to the connection again when they arrive.
    pub(crate) skip_through: Option<Position>,
    /// The replay ends with an event that closed the stream when it was sent: the connection closes
    /// once the replay is written (its client resumes from that event's id, past it).
    pub(crate) closes: bool,
}

/// The frames a cursor missed, and whether the last of them closed its stream.
#[derive(Debug, Default)]
struct Replay {
    frames: Vec<Bytes>,
    closes: bool,
}

/// Why [`EventLog::missed_since`] has no list of frames to replay.
#[derive(Debug)]
enum Missed {
    /// The cursor cannot be resumed.
    Stale(StaleReason),
    /// The cursor is ahead of this node's copy of a shared log.
    Ahead(Position),
}

/// The in-memory window of one log: the whole log on one node, or this node's copy of the recent part of
/// a shared log that a [backplane](crate::backplane) feeds, in the order and with the positions the shared
/// log gave.
#[derive(Debug)]
pub(crate) struct EventLog {
    options: EventLogOptions,
    /// Fed by a backplane: other nodes may have read further, so a cursor ahead of the head is not
    /// unknown, only not here yet.
    shared: bool,
    epoch: Arc<str>,
    /// True once the epoch is one a shared log gave (not the window's own, made when it started).
    adopted: bool,
    /// The position of the newest event (`0-0` before the first).
    head: Position,
    /// The newest position dropped from the window: a cursor before it has lost events.
    trimmed_through: Option<Position>,
    entries: VecDeque<Entry>,
}

impl EventLog {
    /// A new, empty log of this node alone, with an epoch of its own.
    pub(crate) fn local(options: EventLogOptions) -> Self {
        EventLog {
            options,
            shared: false,
            epoch: new_epoch(),
            adopted: false,
            head: Position::default(),
            trimmed_through: None,
            entries: VecDeque::new(),
        }
    }

    /// A new, empty window on a shared log that a backplane feeds, with an epoch of its own until it
    /// adopts the shared log's.
    pub(crate) fn shared(options: EventLogOptions) -> Self {
        EventLog { shared: true, ..Self::local(options) }
    }

    /// The epoch of the log this window belongs to.
    pub(crate) fn epoch(&self) -> &Arc<str> {
        &self.epoch
    }

    /// The shared log is under `epoch`: the window empties. Returns true when `epoch` replaces one
    /// adopted from the shared log before (its broker lost its data), false for the first adoption.
    pub(crate) fn adopt_epoch(&mut self, epoch: Arc<str>) -> bool {
        let replaced = std::mem::replace(&mut self.adopted, true);
        self.epoch = epoch;
        self.head = Position::default();
        self.trimmed_through = None;
        self.entries.clear();
        replaced
    }

    /// This window begins in the middle of a shared log: events before `first` may have existed, and a
    /// cursor before them cannot be resumed from here.
    pub(crate) fn starts_at(&mut self, first: Position) {
        let before = match first.sequence {
            0 => Position { millis: first.millis.saturating_sub(1), sequence: u64::MAX },
            sequence => Position { millis: first.millis, sequence: sequence - 1 },
        };
        self.trimmed_through = Some(before);
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.options.max_events > 0
    }

    /// The id of the newest event.
    pub(crate) fn head(&self) -> EventId {
        EventId::new(self.epoch.clone(), self.head)
    }

    /// Adds an event for `audience` after the head (`closes`: the last one its connections are sent);
    /// returns its id (none when the log is off) and its encoding, which carries that id.
    pub(crate) fn append(&mut self, audience: Audience, event: &Event, closes: bool) -> (Option<EventId>, Bytes) {
        let position = self.head.next(now_millis());
        let frame = self.insert(position, audience, event, closes).unwrap_or_else(|| event.encode());
        (self.is_enabled().then(|| self.head()), frame)
    }

    /// Adds an event that the log placed at `position`; returns its encoding, or `None` when the window
    /// already holds that position (an event read twice).
    pub(crate) fn insert(
        &mut self,
        position: Position,
        audience: Audience,
        event: &Event,
        closes: bool,
    ) -> Option<Bytes> {
        if !self.is_enabled() {
            return Some(event.encode());
        }
        if position <= self.head {
            return None;
        }
        let now = Instant::now();
        self.head = position;
        let frame = event.encode_with_id(&self.head().to_string());
        self.entries.push_back(Entry { position, audience, frame: frame.clone(), closes, added: now });
        self.trim(now);
        Some(frame)
    }

    /// Drops what is past `max_events` or older than `max_age`.
    fn trim(&mut self, now: Instant) {
        while let Some(oldest) = self.entries.front() {
            let too_many = self.entries.len() > self.options.max_events;
            let too_old = now.saturating_duration_since(oldest.added) > self.options.max_age;
            if !too_many && !too_old {
                break;
            }
            self.trimmed_through = Some(oldest.position);
            self.entries.pop_front();
        }
    }

    /// What a connection with `identifier` that sent `cursor` as its `Last-Event-ID` is sent first.
    ///
    /// A stream of the framework's own ([`is_internal`]) is not moved to the head: its owner primes it
    /// with an entry of its own, so every id its client holds is the id of an entry meant for it, and
    /// [`stream_at`](Self::stream_at) tells which stream a cursor belongs to.
    pub(crate) fn resume(&mut self, cursor: Option<&str>, identifier: &str) -> Resumption {
        if !self.is_enabled() {
            return Resumption { state: ResumeState::Fresh, frames: Bytes::new(), skip_through: None, closes: false };
        }
        self.trim(Instant::now());
        let primed = !is_internal(identifier);
        let Some(cursor) = cursor else {
            let frames = if primed { self.priming_frame() } else { Bytes::new() };
            return Resumption { state: ResumeState::Fresh, frames, skip_through: None, closes: false };
        };
        match self.missed_since(cursor, identifier) {
            Err(Missed::Ahead(position)) => Resumption {
                state: ResumeState::Recovered { events: 0 },
                frames: Bytes::new(),
                skip_through: Some(position),
                closes: false,
            },
            Ok(missed) => {
                let length = missed.frames.iter().map(|frame| frame.len()).sum::<usize>();
                let mut frames = BytesMut::with_capacity(length + MAX_EVENT_ID_LEN + 8);
                for frame in &missed.frames {
                    frames.extend_from_slice(frame);
                }
                // After a closing event the client's cursor must stay on it: it resumes from there.
                if primed && !missed.closes {
                    frames.extend_from_slice(&self.priming_frame());
                }
                Resumption {
                    state: ResumeState::Recovered { events: missed.frames.len() },
                    frames: frames.freeze(),
                    skip_through: None,
                    closes: missed.closes,
                }
            }
            Err(Missed::Stale(reason)) => Resumption {
                state: ResumeState::Stale { reason },
                // A stream of the framework's own is told by its owner, in its own protocol.
                frames: if primed { self.stale_frame(reason) } else { Bytes::new() },
                skip_through: None,
                closes: false,
            },
        }
    }

    /// The identifier of the one stream the entry at `cursor` was meant for, while the window holds it
    /// (`None` for an id of another epoch, one trimmed, or an entry meant for more than one stream).
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(crate) fn stream_at(&self, cursor: &str) -> Option<Arc<str>> {
        let cursor: EventId = cursor.parse().ok()?;
        if cursor.epoch() != &*self.epoch {
            return None;
        }
        let index = self.entries.binary_search_by(|entry| entry.position.cmp(&cursor.position())).ok()?;
        match &self.entries[index].audience {
            Audience::Identifier(identifier) => Some(identifier.clone()),
            _ => None,
        }
    }

    /// The event that tells a client its cursor cannot be resumed, carrying the head as its new cursor.
    pub(crate) fn stale_frame(&self, reason: StaleReason) -> Bytes {
        let head = self.head().to_string();
        Event::new().event(self.options.stale_event_name.as_str()).id(head).data(reason.as_str()).encode()
    }

    /// The frames of the events after `cursor` meant for `identifier`, up to the first that closed its
    /// stream, or why they cannot all be had.
    fn missed_since(&self, cursor: &str, identifier: &str) -> Result<Replay, Missed> {
        let cursor: EventId = cursor.parse().map_err(|_| Missed::Stale(StaleReason::Unknown))?;
        if cursor.epoch() != &*self.epoch {
            return Err(Missed::Stale(StaleReason::OtherEpoch));
        }
        let position = cursor.position();
        if position > self.head {
            return Err(if self.shared { Missed::Ahead(position) } else { Missed::Stale(StaleReason::Unknown) });
        }
        if self.trimmed_through.is_some_and(|trimmed| position < trimmed) {
            return Err(Missed::Stale(StaleReason::Trimmed));
        }
        // Entries are in position order: skip to the first one after the cursor.
        let first = self.entries.partition_point(|entry| entry.position <= position);
        let mut missed = Replay::default();
        for entry in self.entries.range(first..) {
            if entry.audience.includes(identifier) {
                if missed.frames.len() == self.options.replay_limit {
                    return Err(Missed::Stale(StaleReason::TooManyEvents));
                }
                missed.frames.push(entry.frame.clone());
                if entry.closes {
                    missed.closes = true;
                    break;
                }
            }
        }
        Ok(missed)
    }

    /// `id: <head>`: an event without data, which only moves the client's cursor.
    fn priming_frame(&self) -> Bytes {
        Event::new().id(self.head().to_string()).encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(max_events: usize, replay_limit: usize) -> EventLog {
        EventLog::local(EventLogOptions { max_events, replay_limit, ..EventLogOptions::default() })
    }

    fn text(bytes: &Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn publish(log: &mut EventLog, audience: Audience, data: &str) -> String {
        log.append(audience, &Event::new().data(data), false).0.unwrap().to_string()
    }

    #[test]
    fn a_first_visit_gets_the_head_as_its_cursor() {
        let mut log = log_with(10, 10);
        let id = publish(&mut log, Audience::All, "a");
        let resumed = log.resume(None, "ana");
        assert_eq!(resumed.state, ResumeState::Fresh);
        assert_eq!(text(&resumed.frames), format!("id: {id}\n\n"));
    }

    #[test]
    fn a_stream_of_the_framework_is_primed_by_its_owner_and_found_by_its_ids() {
        let mut log = log_with(10, 10);
        let stream = "\u{1}mcp/s/1";
        publish(&mut log, Audience::All, "for the program's streams");
        let fresh = log.resume(None, stream);
        assert!(fresh.frames.is_empty(), "no head priming: {:?}", text(&fresh.frames));
        let own = publish(&mut log, Audience::Identifier(stream.into()), "{}");
        let other = publish(&mut log, Audience::All, "not for it");
        assert_eq!(log.stream_at(&own).as_deref(), Some(stream));
        assert_eq!(log.stream_at(&other), None, "an entry for everyone is no one stream's");
        assert_eq!(log.stream_at("other.1-0"), None);
        let resumed = log.resume(Some(&own), stream);
        assert_eq!(resumed.state, ResumeState::Recovered { events: 0 });
        assert!(resumed.frames.is_empty(), "no head frame after the replay either");
    }

    #[test]
    fn a_cursor_gets_what_it_missed_that_was_meant_for_it_in_order() {
        let mut log = log_with(10, 10);
        let start = publish(&mut log, Audience::All, "before");
        let a = publish(&mut log, Audience::All, "one");
        publish(&mut log, Audience::Identifier("bob".into()), "not for ana");
        let c = publish(&mut log, Audience::Prefix("an".into()), "two");
        let resumed = log.resume(Some(&start), "ana");
        assert_eq!(resumed.state, ResumeState::Recovered { events: 2 });
        assert_eq!(text(&resumed.frames), format!("id: {a}\ndata: one\n\nid: {c}\ndata: two\n\nid: {c}\n\n"));
        let up_to_date = log.resume(Some(&c), "ana");
        assert_eq!(up_to_date.state, ResumeState::Recovered { events: 0 });
    }

    #[test]
    fn a_replay_stops_at_an_event_that_closed_its_stream_and_closes_again() {
        let mut log = log_with(10, 10);
        let start = publish(&mut log, Audience::All, "before");
        let (last, _) = log.append(Audience::Identifier("ana".into()), &Event::new().data("bye"), true);
        let last = last.unwrap().to_string();
        let after = publish(&mut log, Audience::All, "later");
        let resumed = log.resume(Some(&start), "ana");
        assert!(resumed.closes);
        assert_eq!(text(&resumed.frames), format!("id: {last}\ndata: bye\n\n"), "no head frame after the last one");
        let others = log.resume(Some(&start), "bob");
        assert!(!others.closes, "the closing event was ana's alone");
        let past_it = log.resume(Some(&last), "ana");
        assert!(!past_it.closes);
        assert_eq!(text(&past_it.frames), format!("id: {after}\ndata: later\n\nid: {after}\n\n"));
    }

    #[test]
    fn what_cannot_be_resumed_whole_is_stale_with_the_head_as_its_id() {
        let mut log = log_with(2, 1);
        let first = publish(&mut log, Audience::All, "1");
        let second = publish(&mut log, Audience::All, "2");
        publish(&mut log, Audience::All, "3");
        let head = publish(&mut log, Audience::All, "4");
        let stale = |log: &mut EventLog, cursor: &str| log.resume(Some(cursor), "ana");
        let trimmed = stale(&mut log, &first);
        assert_eq!(trimmed.state, ResumeState::Stale { reason: StaleReason::Trimmed });
        assert_eq!(text(&trimmed.frames), format!("event: stale\nid: {head}\ndata: trimmed\n\n"));
        let too_many = stale(&mut log, &second).state;
        assert_eq!(too_many, ResumeState::Stale { reason: StaleReason::TooManyEvents });
        let from_another_epoch = head.replacen(&*log.epoch, "zz", 1);
        let other_epoch = stale(&mut log, &from_another_epoch).state;
        assert_eq!(other_epoch, ResumeState::Stale { reason: StaleReason::OtherEpoch });
        let future = format!("{}.{}-0", log.epoch, u64::MAX);
        for unknown in ["42", "", &"9".repeat(500), future.as_str()] {
            assert_eq!(stale(&mut log, unknown).state, ResumeState::Stale { reason: StaleReason::Unknown });
        }
    }

    #[test]
    fn events_older_than_max_age_leave_the_log() {
        let mut log = EventLog::local(EventLogOptions { max_age: Duration::ZERO, ..EventLogOptions::default() });
        let first = publish(&mut log, Audience::All, "1");
        publish(&mut log, Audience::All, "2");
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(log.resume(Some(&first), "ana").state, ResumeState::Stale { reason: StaleReason::Trimmed });
    }

    #[test]
    fn a_shared_window_takes_positions_from_its_engine() {
        let mut log = EventLog::shared(EventLogOptions::default());
        assert!(!log.adopt_epoch("shared".into()), "the first adoption replaces nothing");
        let at = |millis, sequence| Position { millis, sequence };
        log.starts_at(at(100, 0));
        assert!(log.insert(at(100, 0), Audience::All, &Event::new().data("a"), false).is_some());
        assert!(
            log.insert(at(100, 0), Audience::All, &Event::new().data("a"), false).is_none(),
            "read twice, kept once"
        );
        assert!(log.insert(at(101, 3), Audience::All, &Event::new().data("b"), false).is_some());
        assert_eq!(log.head().to_string(), "shared.101-3");
        let before = log.resume(Some("shared.99-7"), "ana");
        assert_eq!(before.state, ResumeState::Stale { reason: StaleReason::Trimmed });
        let from_start = log.resume(Some("shared.99-18446744073709551615"), "ana");
        assert_eq!(from_start.state, ResumeState::Recovered { events: 2 });
        let ahead = log.resume(Some("shared.205-0"), "ana");
        assert_eq!((ahead.state, ahead.skip_through), (ResumeState::Recovered { events: 0 }, Some(at(205, 0))));
        assert!(ahead.frames.is_empty(), "no priming frame: it would move the client's cursor back");
    }

    #[test]
    fn a_log_turned_off_sends_plain_events_and_resumes_nothing() {
        let mut log = log_with(0, 10);
        let (id, frame) = log.append(Audience::All, &Event::new().data("x"), false);
        assert_eq!((id, text(&frame)), (None, "data: x\n\n".to_owned()));
        let resumed = log.resume(Some("whatever"), "ana");
        assert_eq!((resumed.state, resumed.frames.len()), (ResumeState::Fresh, 0));
    }
}
