//! Raw-socket HTTP/1.1 clients, light enough that the server is what a measurement sees: a keep-alive
//! request connection ([`HttpConnection`]) and an event-stream reader ([`EventStreamClient`]). They read
//! into one reused buffer and parse only what the measurements need (status, `Content-Length`, `data:`
//! lines).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_SIZE: usize = 4096;

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads more bytes onto the end of `buffer`; an error at end of stream.
async fn fill(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<()> {
    buffer.reserve(READ_SIZE);
    if socket.read_buf(buffer).await? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
    }
    Ok(())
}

/// Where the head ends in `buffer` (after its blank line), and the head's status and `Content-Length`.
fn parse_head(buffer: &[u8]) -> io::Result<Option<(usize, u16, Option<usize>)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buffer).map_err(|e| invalid(format!("bad response head: {e}")))? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(end) => {
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok());
            Ok(Some((end, response.code.unwrap_or(0), length)))
        }
    }
}

/// A keep-alive connection for requests answered with a `Content-Length` body.
#[derive(Debug)]
pub struct HttpConnection {
    socket: TcpStream,
    buffer: Vec<u8>,
}

/// A response read by [`HttpConnection::exchange`], borrowing the connection's buffer.
#[derive(Debug)]
pub struct Response<'a> {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: &'a [u8],
}

impl HttpConnection {
    /// Connects (with `TCP_NODELAY`, as load generators do).
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        Ok(HttpConnection { socket, buffer: Vec::with_capacity(READ_SIZE) })
    }

    /// Formats a request with `Host` and, when `body` is not empty, `Content-Length`.
    pub fn format_request(method: &str, target: &str, body: &[u8]) -> Vec<u8> {
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: bench\r\n").into_bytes();
        if !body.is_empty() || method == "POST" {
            request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        request
    }

    /// Writes one already formatted request and reads its response.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<Response<'_>> {
        self.socket.write_all(request).await?;
        self.buffer.clear();
        let (head, status, length) = loop {
            if let Some(parsed) = parse_head(&self.buffer)? {
                break parsed;
            }
            fill(&mut self.socket, &mut self.buffer).await?;
        };
        let length = length.ok_or_else(|| invalid("a response without Content-Length"))?;
        while self.buffer.len() < head + length {
            fill(&mut self.socket, &mut self.buffer).await?;
        }
        Ok(Response { status, body: &self.buffer[head..head + length] })
    }

    /// Sends a request and returns the status and the body as text.
    pub async fn request(&mut self, method: &str, target: &str, body: &[u8]) -> io::Result<(u16, String)> {
        let request = Self::format_request(method, target, body);
        let response = self.exchange(&request).await?;
        Ok((response.status, String::from_utf8_lossy(response.body).into_owned()))
    }
}

/// An open event stream: the head is read; [`next_data`](Self::next_data) returns each event's `data`.
#[derive(Debug)]
pub struct EventStreamClient {
    socket: TcpStream,
    buffer: Vec<u8>,
}

impl EventStreamClient {
    /// Sends `GET path` with `Accept: text/event-stream` and reads the response head; an error unless the
    /// status is 200.
    pub async fn open(addr: SocketAddr, path: &str) -> io::Result<Self> {
        Self::open_with_headers(addr, path, &[]).await
    }

    /// [`open`](Self::open) with more request headers (`Last-Event-ID`, to resume).
    pub async fn open_with_headers(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> io::Result<Self> {
        let mut socket = TcpStream::connect(addr).await?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            request.extend([name, ": ", value, "\r\n"]);
        }
        request.push_str("\r\n");
        socket.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(512);
        let (head, status) = loop {
            if let Some((head, status, _)) = parse_head(&buffer)? {
                break (head, status);
            }
            fill(&mut socket, &mut buffer).await?;
        };
        if status != 200 {
            return Err(invalid(format!("GET {path} answered {status}")));
        }
        buffer.drain(..head);
        Ok(EventStreamClient { socket, buffer })
    }

    /// The socket, for a caller that only needs the connection open.
    pub fn into_socket(self) -> TcpStream {
        self.socket
    }

    /// The `data` of the next event that has one (the value of its first `data:` line); `None` when the
    /// server ends the stream. Comments, other fields and the chunked framing are skipped.
    pub async fn next_data(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(data) = self.take_data_line() {
                return Ok(Some(data));
            }
            self.buffer.reserve(READ_SIZE);
            if self.socket.read_buf(&mut self.buffer).await? == 0 {
                return Ok(None);
            }
        }
    }

    fn take_data_line(&mut self) -> Option<Vec<u8>> {
        const FIELD: &[u8] = b"data:";
        let Some(start) = self.buffer.windows(FIELD.len()).position(|w| w == FIELD) else {
            // Keep a tail that may be the beginning of a `data:` cut by the read.
            let keep = self.buffer.len().min(FIELD.len() - 1);
            self.buffer.drain(..self.buffer.len() - keep);
            return None;
        };
        let end = start + self.buffer[start..].iter().position(|&b| b == b'\n')?;
        let mut value = &self.buffer[start + FIELD.len()..end];
        value = value.strip_prefix(b" ").unwrap_or(value);
        value = value.strip_suffix(b"\r").unwrap_or(value);
        let data = value.to_vec();
        self.buffer.drain(..=end);
        Some(data)
    }
}
