//! A raw-socket HTTP/1.1 client for Streamable HTTP, light enough that the server is what a measurement
//! sees: one keep-alive connection ([`McpConnection`]), a response body read as it arrives
//! ([`Body`]: `Content-Length`, chunked, or until the close) and the Server-Sent Events in it
//! ([`SseParser`]: `id`, `event`, `data`, `retry`; comments skipped).
//!
//! Unlike [`crate::client`], which looks only for `data:` lines, this one decodes the chunked framing
//! and whole events, since the MCP measurements check every message and every event id.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_SIZE: usize = 8192;

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The head of a response.
#[derive(Debug, Clone)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `Content-Type`, lowercased (empty when absent).
    pub content_type: String,
    /// `Mcp-Session-Id`, if any.
    pub session: Option<String>,
}

impl Head {
    /// True when the body is an event stream.
    pub fn is_event_stream(&self) -> bool {
        self.content_type.starts_with("text/event-stream")
    }
}

/// Where the body is in its framing.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `left` bytes of a `Content-Length` body to come.
    Length { left: usize },
    /// The size line of the next chunk.
    ChunkSize,
    /// `left` bytes of the current chunk to come.
    ChunkData { left: usize },
    /// The line end after a chunk.
    ChunkEnd,
    /// The trailer lines after the last chunk.
    Trailers,
    /// Everything until the server closes.
    UntilClose,
    /// The body is over.
    Done,
}

/// One keep-alive connection to an MCP endpoint.
#[derive(Debug)]
pub struct McpConnection {
    socket: TcpStream,
    /// Bytes read and not yet taken.
    buffer: Vec<u8>,
    /// The value of every request's `Host` (a loopback name, which both servers require).
    host: String,
}

impl McpConnection {
    /// Connects (with `TCP_NODELAY`, as load generators do).
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        Ok(McpConnection { socket, buffer: Vec::with_capacity(READ_SIZE), host: addr.to_string() })
    }

    async fn fill(&mut self) -> io::Result<usize> {
        self.buffer.reserve(READ_SIZE);
        self.socket.read_buf(&mut self.buffer).await
    }

    async fn fill_or_fail(&mut self) -> io::Result<()> {
        if self.fill().await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        Ok(())
    }

    /// Sends `method` to the endpoint `path` with `headers` (and, for a `POST`, the JSON `body`), and reads
    /// the response head; the body is read from the returned [`Body`], to its end before the next request.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<(Head, Body<'_>)> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        request.push_str(match method {
            "GET" => "Accept: text/event-stream\r\n",
            _ => "Accept: application/json, text/event-stream\r\n",
        });
        if method == "POST" {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            request.extend([name, ": ", value, "\r\n"]);
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.socket.write_all(&bytes).await?;
        self.buffer.clear();
        let (head, framing) = loop {
            if let Some(parsed) = self.parse_head()? {
                break parsed;
            }
            self.fill_or_fail().await?;
        };
        Ok((head, Body { connection: self, framing }))
    }

    /// The head at the start of the buffer, taken off it, once it is all there.
    fn parse_head(&mut self) -> io::Result<Option<(Head, Framing)>> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let end = match response.parse(&self.buffer).map_err(|e| invalid(format!("bad response head: {e}")))? {
            httparse::Status::Partial => return Ok(None),
            httparse::Status::Complete(end) => end,
        };
        let value = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .map(|v| v.trim().to_owned())
        };
        let status = response.code.unwrap_or(0);
        let chunked = value("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let framing = match (chunked, value("content-length").and_then(|v| v.parse().ok())) {
            (true, _) => Framing::ChunkSize,
            (false, Some(0)) => Framing::Done,
            (false, Some(left)) => Framing::Length { left },
            // 202, 204 and 304 have no body; anything else without a length runs to the close.
            (false, None) if matches!(status, 202 | 204 | 304) => Framing::Done,
            (false, None) => Framing::UntilClose,
        };
        let head = Head {
            status,
            content_type: value("content-type").unwrap_or_default().to_ascii_lowercase(),
            session: value("mcp-session-id"),
        };
        self.buffer.drain(..end);
        Ok(Some((head, framing)))
    }
}

/// The body of a response, read as it arrives.
#[derive(Debug)]
pub struct Body<'a> {
    connection: &'a mut McpConnection,
    framing: Framing,
}

impl Body<'_> {
    /// Appends what comes next of the body to `out`; `false` once the body is over.
    pub async fn read(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let buffer = &mut self.connection.buffer;
            match self.framing {
                Framing::Done => return Ok(false),
                Framing::Length { left } | Framing::ChunkData { left } => {
                    if buffer.is_empty() {
                        self.connection.fill_or_fail().await?;
                        continue;
                    }
                    let take = left.min(buffer.len());
                    out.extend(buffer.drain(..take));
                    self.framing = match self.framing {
                        Framing::Length { .. } if take == left => Framing::Done,
                        Framing::Length { .. } => Framing::Length { left: left - take },
                        _ if take == left => Framing::ChunkEnd,
                        _ => Framing::ChunkData { left: left - take },
                    };
                    return Ok(true);
                }
                Framing::ChunkSize => {
                    let Some(line_end) = buffer.windows(2).position(|w| w == b"\r\n") else {
                        self.connection.fill_or_fail().await?;
                        continue;
                    };
                    let line = std::str::from_utf8(&buffer[..line_end]).map_err(|_| invalid("a chunk size"))?;
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16).map_err(|_| invalid(format!("chunk size `{line}`")))?;
                    buffer.drain(..line_end + 2);
                    self.framing = if size == 0 { Framing::Trailers } else { Framing::ChunkData { left: size } };
                }
                Framing::ChunkEnd => {
                    if buffer.len() < 2 {
                        self.connection.fill_or_fail().await?;
                        continue;
                    }
                    if &buffer[..2] != b"\r\n" {
                        return Err(invalid("a chunk that does not end with CRLF"));
                    }
                    buffer.drain(..2);
                    self.framing = Framing::ChunkSize;
                }
                Framing::Trailers => {
                    let Some(line_end) = buffer.windows(2).position(|w| w == b"\r\n") else {
                        self.connection.fill_or_fail().await?;
                        continue;
                    };
                    buffer.drain(..line_end + 2);
                    if line_end == 0 {
                        self.framing = Framing::Done;
                    }
                }
                Framing::UntilClose => {
                    if !buffer.is_empty() {
                        out.append(buffer);
                        return Ok(true);
                    }
                    if self.connection.fill().await? == 0 {
                        self.framing = Framing::Done;
                    }
                }
            }
        }
    }

    /// Reads the rest of the body.
    pub async fn to_end(mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.read(&mut out).await? {}
        Ok(out)
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// Its `id`.
    pub id: Option<String>,
    /// Its `event` name.
    pub event: Option<String>,
    /// Its `data` lines, joined by `\n` (empty when it had none).
    pub data: String,
    /// Its `retry`, in milliseconds.
    pub retry: Option<u64>,
}

/// Splits a body into events as its bytes arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    /// Where the unread part of `pending` begins.
    start: usize,
    current: SseEvent,
    /// Whether `current` has had a field since the last blank line.
    started: bool,
    /// The `data` lines `current` has had.
    data_lines: usize,
}

impl SseParser {
    /// Adds body bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        } else if self.start > READ_SIZE {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The next whole event fed, if any (a blank line ends each; one of only comments is none).
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            let rest = &self.pending[self.start..];
            let newline = rest.iter().position(|&b| b == b'\n')?;
            let line = &rest[..newline];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = String::from_utf8_lossy(line).into_owned();
            self.start += newline + 1;
            if line.is_empty() {
                if std::mem::take(&mut self.started) {
                    self.data_lines = 0;
                    return Some(std::mem::take(&mut self.current));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            self.started = true;
            match field {
                "id" => self.current.id = Some(value.to_owned()),
                "event" => self.current.event = Some(value.to_owned()),
                "retry" => self.current.retry = value.parse().ok(),
                "data" => {
                    if self.data_lines > 0 {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.data_lines += 1;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk.as_bytes());
            while let Some(event) = parser.next_event() {
                out.push(event);
            }
        }
        out
    }

    #[test]
    fn events_are_whole_across_reads_and_comments_are_skipped() {
        let parsed = events(&[
            "id: 1\nretry: 1000\ndata: \n\n: ping\n\nevent: mess",
            "age\r\nid: 2\r\ndata: {\"a\"",
            ":1}\r\n\r\n",
        ]);
        assert_eq!(
            parsed,
            [
                SseEvent { id: Some("1".into()), event: None, data: String::new(), retry: Some(1000) },
                SseEvent { id: Some("2".into()), event: Some("message".into()), data: "{\"a\":1}".into(), retry: None },
            ]
        );
    }

    #[test]
    fn data_lines_are_joined_by_newlines() {
        assert_eq!(events(&["data: a\ndata: b\ndata:\n\n"])[0].data, "a\nb\n");
    }
}
