//! [`EventId`]: the id the event log gives every event it carries, and what a reconnecting client sends
//! back as `Last-Event-ID` — an epoch (new each time a log starts) and a position in that log.
//!
//! The position has the shape of a Redis Streams entry id (`<milliseconds>-<sequence>`), so the ids read
//! the same whichever log assigned them: `k3f9x2.1718000123456-0`.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest `Last-Event-ID` that is parsed at all; a longer one is malformed.
pub(crate) const MAX_EVENT_ID_LEN: usize = 80;

/// The longest epoch accepted.
const MAX_EPOCH_LEN: usize = 32;

/// A position in a log: milliseconds since the Unix epoch when the event was added, and a sequence
/// number among the events of that millisecond. Positions only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Milliseconds since the Unix epoch (or the log's own clock, if it never goes back).
    pub millis: u64,
    /// The sequence number within `millis`.
    pub sequence: u64,
}

impl Position {
    /// The position of the event added after this one at `now_millis`: a later millisecond starts a new
    /// sequence; a clock that stands still or goes back keeps the millisecond and counts on.
    pub fn next(self, now_millis: u64) -> Position {
        if now_millis > self.millis {
            Position { millis: now_millis, sequence: 0 }
        } else {
            Position { millis: self.millis, sequence: self.sequence.saturating_add(1) }
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.millis, self.sequence)
    }
}

impl FromStr for Position {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        let (millis, sequence) = text.split_once('-').ok_or(())?;
        let digits = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            part.parse::<u64>().map_err(|_| ())
        };
        Ok(Position { millis: digits(millis)?, sequence: digits(sequence)? })
    }
}

/// The id of an event in the log: `<epoch>.<position>`.
///
/// ```
/// use sisk::http::streams::EventId;
///
/// let id: EventId = "k3f9x2.1718000123456-0".parse().unwrap();
/// assert_eq!(id.epoch(), "k3f9x2");
/// assert_eq!(id.position().millis, 1718000123456);
/// assert_eq!(id.to_string(), "k3f9x2.1718000123456-0");
/// assert!("42".parse::<EventId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId {
    epoch: Arc<str>,
    position: Position,
}

impl EventId {
    pub(crate) fn new(epoch: Arc<str>, position: Position) -> Self {
        EventId { epoch, position }
    }

    /// The epoch: which start of which log gave this id.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The position in that log.
    pub fn position(&self) -> Position {
        self.position
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.position)
    }
}

/// Why a text is not an [`EventId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEventId;

impl fmt::Display for InvalidEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an event id of this log (expected `<epoch>.<milliseconds>-<sequence>`)")
    }
}

impl std::error::Error for InvalidEventId {}

impl FromStr for EventId {
    type Err = InvalidEventId;

    fn from_str(text: &str) -> Result<Self, InvalidEventId> {
        if text.len() > MAX_EVENT_ID_LEN {
            return Err(InvalidEventId);
        }
        let (epoch, position) = text.rsplit_once('.').ok_or(InvalidEventId)?;
        if !is_epoch(epoch) {
            return Err(InvalidEventId);
        }
        let position = position.parse().map_err(|()| InvalidEventId)?;
        Ok(EventId { epoch: Arc::from(epoch), position })
    }
}

/// True for 1 to 32 ASCII letters and digits.
pub(crate) fn is_epoch(text: &str) -> bool {
    (1..=MAX_EPOCH_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A new epoch: eight base-36 characters, different at every call (the clock, the process and the
/// standard library's random hasher keys are mixed in).
pub(crate) fn new_epoch() -> Arc<str> {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    let mut value = hasher.finish();
    let mut epoch = String::with_capacity(8);
    for _ in 0..8 {
        let digit = (value % 36) as u32;
        epoch.push(char::from_digit(digit, 36).unwrap_or('0'));
        value /= 36;
    }
    Arc::from(epoch)
}

/// Milliseconds since the Unix epoch, by the system clock.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_print_back() {
        for text in ["a.0-0", "k3f9x2.1718000123456-0", "Z9.18446744073709551615-18446744073709551615"] {
            assert_eq!(text.parse::<EventId>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let long_epoch = format!("{}.1-0", "a".repeat(33));
        let huge = format!("a.{}-0", "9".repeat(100));
        let refused =
            ["", "42", ".1-0", "a.", "a.1", "a.1-", "a.-1", "a.1-2-3", "a.+1-0", "a b.1-0", "a.18446744073709551616-0"];
        for text in refused.iter().copied().chain([long_epoch.as_str(), huge.as_str()]) {
            assert!(text.parse::<EventId>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn positions_only_grow() {
        let start = Position { millis: 10, sequence: 4 };
        assert_eq!(start.next(11), Position { millis: 11, sequence: 0 });
        assert_eq!(start.next(10), Position { millis: 10, sequence: 5 });
        assert_eq!(start.next(3), Position { millis: 10, sequence: 5 }, "a clock that goes back");
        assert!(start.next(3) > start);
    }

    #[test]
    fn epochs_differ() {
        let (a, b) = (new_epoch(), new_epoch());
        assert!(is_epoch(&a) && is_epoch(&b));
        assert_ne!(a, b);
    }
}
