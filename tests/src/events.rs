//! [`EventReader`]: an event stream read frame by frame, with the `event`, `id` and `data` of each.

use std::time::Duration;

use crate::LIMIT;

/// An HTTP client for the suites, every request bounded by [`LIMIT`] to connect.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().connect_timeout(LIMIT).build().expect("a client")
}

/// Reads `response`'s body until what was read ends with `needle`; returns it. Panics after [`LIMIT`].
pub async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut read = String::new();
    while !read.ends_with(needle) {
        let chunk = tokio::time::timeout(LIMIT, response.chunk()).await.expect("in time").expect("readable");
        let chunk = chunk.unwrap_or_else(|| panic!("the stream ended before {needle:?}: {read:?}"));
        read.push_str(&String::from_utf8_lossy(&chunk));
    }
    read
}

/// One frame of an event stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: Option<String>,
}

/// An open event stream.
#[derive(Debug)]
pub struct EventReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// The id of the last frame that had one: what a browser would send back as `Last-Event-ID`.
    pub last_event_id: Option<String>,
    /// How many comments (pings) were read and skipped.
    pub comments: usize,
}

impl EventReader {
    /// Opens `url` as an event stream, with `last_event_id` as the `Last-Event-ID` header.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> EventReader {
        let mut request = client().get(url).header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = tokio::time::timeout(LIMIT, request.send()).await.expect("opens in time").expect("opens");
        assert_eq!(response.status(), 200, "{url}");
        EventReader { response, buffer: Vec::new(), last_event_id: last_event_id.map(str::to_owned), comments: 0 }
    }

    /// Reads `response`, already open, as an event stream.
    pub fn from_response(response: reqwest::Response) -> EventReader {
        EventReader { response, buffer: Vec::new(), last_event_id: None, comments: 0 }
    }

    /// The next frame (comments skipped), or `None` when the stream ends or fails; bounded by `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame::default();
                for line in String::from_utf8_lossy(&raw).lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                    match field {
                        "event" => frame.event = Some(value),
                        "id" => frame.id = Some(value),
                        "data" => {
                            frame.data = Some(match frame.data.take() {
                                Some(before) => format!("{before}\n{value}"),
                                None => value,
                            })
                        }
                        _ => {}
                    }
                }
                if frame == Frame::default() {
                    self.comments += 1; // a comment (a ping)
                    continue;
                }
                if frame.id.is_some() {
                    self.last_event_id.clone_from(&frame.id);
                }
                return Some(frame);
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.extend_from_slice(&chunk),
                Ok(_) | Err(_) => return None,
            }
        }
    }

    /// True when the stream ends, closed by the server, within `within` (what arrives meanwhile is kept
    /// for [`next_within`](Self::next_within)); false when it is still open then, or failed.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.extend_from_slice(&chunk),
                Ok(Ok(None)) => return true,
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// The next frame that carries data, panicking after [`LIMIT`].
    pub async fn next_data(&mut self) -> Frame {
        loop {
            let frame = self.next_within(LIMIT).await.expect("an event in time");
            if frame.data.is_some() {
                return frame;
            }
        }
    }

    /// The data of the next `count` events that carry data.
    pub async fn data(&mut self, count: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(self.next_data().await.data.unwrap_or_default());
        }
        out
    }
}
