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
        self.event = Some(single_line(name.into()));
        self
    }

    /// Sets the id the client sends back as `Last-Event-ID` when it reconnects. Line breaks and NUL are
    /// removed. An event published through the collection (`broadcast`, `send_to`, …) is sent with the
    /// event log's id instead, which is what lets the log resume the client.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id_value(id.into()));
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
    /// The event's data, if it has any.
    pub(crate) fn data_text(&self) -> Option<&str> {
        self.data.as_deref()
    }

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

/// A field's value kept on its line: CR and LF would end the field.
fn single_line(mut value: String) -> String {
    value.retain(|c| c != '\r' && c != '\n');
    value
}

/// An id's value: on its line, and without NUL, for which an `EventSource` ignores the whole id.
fn id_value(mut value: String) -> String {
    value.retain(|c| c != '\r' && c != '\n' && c != '\0');
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

/// Property tests: whatever the fields hold, an encoded event is read back by a WHATWG parser as exactly
/// that event, and nothing else.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// What a browser's `EventSource` dispatches: type, data and the last event ID at that moment.
    #[derive(Debug, PartialEq, Eq)]
    struct Dispatched {
        event_type: String,
        data: String,
        last_event_id: String,
    }

    /// Everything a stream told the parser.
    #[derive(Debug, Default)]
    struct Parsed {
        events: Vec<Dispatched>,
        /// The `retry` values accepted, in milliseconds.
        retries: Vec<u64>,
        /// Names of fields the algorithm ignores: none may appear in what sisk writes.
        unknown_fields: Vec<String>,
        /// The last event ID at the end of the stream.
        last_event_id: String,
    }

    /// A reference parser written from the WHATWG HTML standard, "9.2.6 Interpreting an event stream":
    /// lines end at CRLF, LF or CR; an empty line dispatches; `:` starts a comment; a field's value loses
    /// one leading space; `id` with NUL is ignored; `retry` needs ASCII digits; the data buffer loses its
    /// last LF; an event with empty data is not dispatched; an incomplete event at the end is dropped.
    fn parse_event_stream(stream: &str) -> Parsed {
        let stream = stream.strip_prefix('\u{feff}').unwrap_or(stream);
        let mut parsed = Parsed::default();
        let (mut data, mut event_type, mut last_id) = (String::new(), String::new(), String::new());
        let mut rest = stream;
        // Only complete lines count: text after the last line ending is an incomplete line.
        while let Some(end) = rest.find(['\r', '\n']) {
            let line = &rest[..end];
            let skip = if rest[end..].starts_with("\r\n") { 2 } else { 1 };
            rest = &rest[end + skip..];
            if line.is_empty() {
                parsed.last_event_id.clone_from(&last_id);
                if data.is_empty() {
                    event_type.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                let event_type = std::mem::take(&mut event_type);
                parsed.events.push(Dispatched {
                    event_type: if event_type.is_empty() { "message".into() } else { event_type },
                    data: std::mem::take(&mut data),
                    last_event_id: last_id.clone(),
                });
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            match field {
                "event" => event_type = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => last_id = value.to_owned(),
                "id" => {}
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    parsed.retries.push(value.parse().unwrap_or(u64::MAX));
                }
                "retry" => {}
                other => parsed.unknown_fields.push(other.to_owned()),
            }
        }
        parsed
    }

    /// Text that leans on what is hard to frame: line breaks of every kind, NUL, colons, spaces, a BOM,
    /// field names, and any other character now and then.
    fn tricky_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just("\0".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("data".to_owned()),
            Just("event: x".to_owned()),
            Just("id".to_owned()),
            Just("retry: 1".to_owned()),
            "[a-z]{1,3}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    fn any_event() -> impl Strategy<Value = Event> {
        let text = || prop::option::of(prop_oneof![tricky_text(), any::<String>()]);
        (text(), text(), text(), prop::option::of(0u64..10_000_000), text()).prop_map(
            |(data, name, id, retry, comment)| {
                let mut event = Event::new();
                if let Some(data) = data {
                    event = event.data(data);
                }
                if let Some(name) = name {
                    event = event.event(name);
                }
                if let Some(id) = id {
                    event = event.id(id);
                }
                if let Some(retry) = retry {
                    event = event.retry(Duration::from_millis(retry));
                }
                if let Some(comment) = comment {
                    event = event.comment(comment);
                }
                event
            },
        )
    }

    /// Every kind of line break read as `\n`, as the client joins `data:` lines.
    fn as_client_reads(text: &str) -> String {
        text.replace("\r\n", "\n").replace('\r', "\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_sequence_of_events_is_read_back_exactly(events in prop::collection::vec(any_event(), 1..4)) {
            let stream: String = events.iter().map(|e| String::from_utf8(e.encode().to_vec()).unwrap()).collect();
            let parsed = parse_event_stream(&stream);
            prop_assert!(parsed.unknown_fields.is_empty(), "stray fields {:?} in {stream:?}", parsed.unknown_fields);

            let mut expected = Vec::new();
            let mut last_id = String::new();
            for event in &events {
                if let Some(id) = &event.id {
                    last_id.clone_from(id);
                }
                if event.data.is_none() && event.event.is_none() {
                    continue;
                }
                let event_type = event.event.clone().filter(|name| !name.is_empty()).unwrap_or_else(|| "message".into());
                // Empty data is still one `data: ` line, so the event is dispatched (with empty data).
                let data = as_client_reads(event.data.as_deref().unwrap_or(""));
                expected.push(Dispatched { event_type, data, last_event_id: last_id.clone() });
            }
            prop_assert_eq!(&parsed.events, &expected, "{:?}", stream);
            prop_assert_eq!(&parsed.last_event_id, &last_id);
            let retries: Vec<u64> = events.iter().filter_map(|e| e.retry).map(|r| r.as_millis() as u64).collect();
            prop_assert_eq!(parsed.retries, retries);
        }

        #[test]
        fn one_event_has_exactly_one_boundary_at_its_end(event in any_event()) {
            let bytes = event.encode();
            let text = std::str::from_utf8(&bytes).unwrap();
            // Every line sisk writes ends with LF alone, and the one empty line is the last.
            let body = text.strip_suffix('\n');
            prop_assert!(body.is_some_and(|body| body.is_empty() || body.ends_with('\n')), "{:?}", text);
            let lines: Vec<&str> = body.unwrap_or_default().split_terminator('\n').collect();
            prop_assert!(lines.iter().all(|line| !line.is_empty() && !line.contains('\r')), "{:?}", text);
        }

        #[test]
        fn a_comment_is_never_an_event_or_a_field(text in prop_oneof![tricky_text(), any::<String>()]) {
            let bytes = encode_comment(&text);
            let parsed = parse_event_stream(std::str::from_utf8(&bytes).unwrap());
            prop_assert!(parsed.events.is_empty() && parsed.unknown_fields.is_empty() && parsed.retries.is_empty());
            prop_assert_eq!(parsed.last_event_id, "");
        }
    }

    #[test]
    fn the_reference_parser_follows_the_standard() {
        // The examples of the standard's section on event streams, and the corner cases the properties lean on.
        let parsed = parse_event_stream("data: YHOO\ndata: +2\ndata: 10\n\n: test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n");
        let data: Vec<&str> = parsed.events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["YHOO\n+2\n10", "first event", "second event", " third event"]);
        let ids: Vec<&str> = parsed.events.iter().map(|e| e.last_event_id.as_str()).collect();
        assert_eq!(ids, ["", "1", "", ""]);
        let parsed =
            parse_event_stream("data\n\ndata\ndata\n\ndata:\r\revent: x\rid: a\0b\rretry: 1x\rfoo: 1\r\rdata: cut");
        let data: Vec<&str> = parsed.events.iter().map(|e| e.data.as_str()).collect();
        // A lone `data` is an empty line of data: the buffer is "\n", so the event is dispatched.
        assert_eq!(data, ["", "\n", ""]);
        assert_eq!(parsed.unknown_fields, ["foo"]);
        assert!(parsed.retries.is_empty() && parsed.last_event_id.is_empty());
    }
}
