//! [`Event`]: one Server-Sent Event — data, name, id, retry, comment — and its encoding per the WHATWG
//! EventSource grammar, done once into shared bytes.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;

/// A Server-Sent Event, encoded once into bytes by [`Event::encode`].
///
/// The encoding cannot be injected: data splits at every `\r\n`, `\r` and `\n` into several `data:`
/// lines, which the client joins back with `\n`; line breaks in the event name and id are removed (they
/// are single-line fields in the grammar), and so is NUL in the id (a browser ignores such an id). A
/// comment becomes `:` lines, which never reach `onmessage`.
///
/// ```
/// use std::time::Duration;
/// use sisk::http::streams::Event;
///
/// let event = Event::new()
///     .event("update")
///     .id("42")
///     .retry(Duration::from_secs(3))
///     .data("line one\nline two");
/// assert_eq!(
///     &event.encode()[..],
///     b"event: update\nid: 42\nretry: 3000\ndata: line one\ndata: line two\n\n"
/// );
///
/// // Data cannot start a new field or a new event:
/// assert_eq!(&Event::new().data("a\n\nevent: x").encode()[..], b"data: a\ndata: \ndata: event: x\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    data: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    comment: Option<String>,
}

impl Event {
    /// An empty event. Set data, a name, an id, a retry or a comment; a named event without data is sent
    /// with empty data, so its listener fires (a browser drops an event that has no `data:` line).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the data (any text; line breaks of every kind are kept, as `\n`, on the client).
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Sets the event name (`addEventListener(name, …)` on the client). Line breaks are removed.
    pub fn event(mut self, name: impl Into<String>) -> Self {
        self.event = Some(single_line(name.into(), false));
        self
    }

    /// Sets the id the client sends back as `Last-Event-ID` when it reconnects. Line breaks and NUL are
    /// removed. An event published through the collection (`broadcast`, `send_to`, …) is sent with the
    /// event log's id instead, which is what lets the log resume the client.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(single_line(id.into(), true));
        self
    }

    /// Sets how long the client waits before reconnecting (whole milliseconds).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets a comment: text the client ignores (useful to keep a connection busy).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Encodes the event, ending with the blank line that dispatches it.
    pub fn encode(&self) -> Bytes {
        self.encode_as(self.id.as_deref())
    }

    /// Encodes the event with `id` in place of its own (the event log's id; `id` is one line).
    pub(crate) fn encode_with_id(&self, id: &str) -> Bytes {
        self.encode_as(Some(id))
    }

    fn encode_as(&self, id: Option<&str>) -> Bytes {
        let mut out = String::with_capacity(self.data.as_ref().map_or(0, String::len) + 32);
        if let Some(comment) = &self.comment {
            write_lines(&mut out, "", comment);
        }
        if let Some(event) = &self.event {
            let _ = writeln!(out, "event: {event}");
        }
        if let Some(id) = id {
            let _ = writeln!(out, "id: {id}");
        }
        if let Some(retry) = self.retry {
            let _ = writeln!(out, "retry: {}", retry.as_millis());
        }
        match (&self.data, &self.event) {
            (Some(data), _) => write_lines(&mut out, "data", data),
            // A named event without a data line is never dispatched by a browser; send it as empty data
            // (Sisk's `Send(null)`), so a listener for the name fires.
            (None, Some(_)) => out.push_str("data: \n"),
            (None, None) => {}
        }
        out.push('\n');
        Bytes::from(out)
    }
}

impl Event {
    /// The event's fields as a shared log stores them (its id gives way to the log's).
    pub(crate) fn wire_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::with_capacity(4);
        if let Some(event) = &self.event {
            fields.push(("event", event.clone()));
        }
        if let Some(data) = &self.data {
            fields.push(("data", data.clone()));
        }
        if let Some(retry) = self.retry {
            fields.push(("retry", retry.as_millis().to_string()));
        }
        if let Some(comment) = &self.comment {
            fields.push(("comment", comment.clone()));
        }
        fields
    }

    /// The event with one field read back from a shared log; `None` for a field it does not know.
    pub(crate) fn with_wire_field(self, field: &str, value: &str) -> Option<Event> {
        Some(match field {
            "event" => self.event(value),
            "data" => self.data(value),
            "retry" => self.retry(Duration::from_millis(value.parse().ok()?)),
            "comment" => self.comment(value),
            _ => return None,
        })
    }
}

impl From<&str> for Event {
    fn from(data: &str) -> Self {
        Event::new().data(data)
    }
}

impl From<String> for Event {
    fn from(data: String) -> Self {
        Event::new().data(data)
    }
}

/// Encodes a comment (`: text` lines) on its own, as pings are sent.
pub(crate) fn encode_comment(text: &str) -> Bytes {
    let mut out = String::with_capacity(text.len() + 4);
    write_lines(&mut out, "", text);
    out.push('\n');
    Bytes::from(out)
}

/// Writes `field: line\n` for every line of `text`, splitting at `\r\n`, `\r` and `\n`.
fn write_lines(out: &mut String, field: &str, text: &str) {
    let mut rest = text;
    loop {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        out.push_str(field);
        out.push_str(": ");
        out.push_str(&rest[..end]);
        out.push('\n');
        if end == rest.len() {
            return;
        }
        let skip = if rest[end..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[end + skip..];
    }
}

fn single_line(mut value: String, strip_nul: bool) -> String {
    value.retain(|c| c != '\r' && c != '\n' && !(strip_nul && c == '\0'));
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> String {
        String::from_utf8(Event::new().data(text).encode().to_vec()).unwrap()
    }

    #[test]
    fn data_frames_byte_exact() {
        let table = [
            ("", "data: \n\n"),
            ("Olá, mundo!", "data: Olá, mundo!\n\n"),
            ("a\nb", "data: a\ndata: b\n\n"),
            ("a\r\nb", "data: a\ndata: b\n\n"),
            ("a\rb", "data: a\ndata: b\n\n"),
            ("a\r", "data: a\ndata: \n\n"),
            ("\n\nevent: x", "data: \ndata: \ndata: event: x\n\n"),
            ("id: 9", "data: id: 9\n\n"),
            (" lead", "data:  lead\n\n"),
            (":colon", "data: :colon\n\n"),
        ];
        for (input, expected) in table {
            assert_eq!(data(input), expected, "{input:?}");
        }
    }

    #[test]
    fn single_line_fields_lose_line_breaks() {
        let bytes = Event::new().event("a\r\nb").id("1\n2\0").encode();
        assert_eq!(&bytes[..], b"event: ab\nid: 12\ndata: \n\n");
        assert_eq!(&Event::new().id("7").encode()[..], b"id: 7\n\n", "an id alone only moves Last-Event-ID");
    }

    #[test]
    fn comments_are_colon_lines() {
        assert_eq!(&encode_comment("ping")[..], b": ping\n\n");
        assert_eq!(&encode_comment("a\nb")[..], b": a\n: b\n\n");
        assert_eq!(&Event::new().comment("hi").data("x").encode()[..], b": hi\ndata: x\n\n");
    }
}
