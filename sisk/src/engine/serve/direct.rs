//! Event streams written by sisk itself, outside hyper's HTTP/1.1 dispatcher, which keeps an 8 KiB read
//! buffer and an 8 KiB write buffer for as long as a connection lives — an open stream's whole life.
//!
//! Only the plainest case takes this path: a plain-text connection whose first bytes, peeked at and
//! left in the socket, are one whole `GET` head of HTTP/1.1 asking for `text/event-stream`, with no body,
//! no `Expect`, no `Upgrade`, nothing after it, within [`PEEK_LIMIT`] bytes, that parses with no doubt.
//! The request is answered by the usual pipeline; if the answer is an event stream, the head is taken
//! off the socket and the stream written here (chunked, one vectored write per event), while the socket
//! is watched for the client leaving; when the stream ends cleanly the connection goes on with hyper.
//! Any other answer goes to hyper with the socket untouched: hyper reads the same head and is given the
//! answer already made, so the handler never runs twice. Anything unusual goes to hyper unseen.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use tokio::io::{Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::engine::request_body::RequestBody;
use crate::engine::service::App;
use crate::engine::transport::Connection;
use crate::http::body::ResponseBody;

/// The longest first head looked at; a longer one (many cookies, say) goes to hyper.
pub(super) const PEEK_LIMIT: usize = 2048;
/// The most header fields looked at; more go to hyper.
const MAX_HEADERS: usize = 32;

/// A first request that may become an event stream written here.
pub(super) struct EventStreamRequest {
    /// Its length in the socket.
    head_length: usize,
    request: http::Request<RequestBody>,
}

/// Peeks at the connection's first head; `None` when it is not one for this path (see the module docs),
/// or when it is longer than `limit` (the server's `maximum_header_size`: hyper answers that).
pub(super) async fn peek_event_stream_request(
    stream: &TcpStream,
    limit: usize,
) -> io::Result<Option<EventStreamRequest>> {
    let mut storage = [0u8; PEEK_LIMIT];
    let buffer = &mut storage[..limit.min(PEEK_LIMIT)];
    let limit = buffer.len();
    let mut seen = 0;
    loop {
        let ready = stream.ready(Interest::READABLE).await?;
        let peeked = match stream.try_io(Interest::READABLE, || peek_news(stream, buffer, seen)) {
            Ok(peeked) => peeked,
            // A client that sent part of a head and then closed its side: its socket stays readable
            // (the closed bits of readiness are never cleared) with nothing new to peek. hyper says
            // what that is.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock && ready.is_read_closed() => return Ok(None),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        };
        if peeked == seen {
            // The end of the stream before a whole head: hyper says what that is.
            return Ok(None);
        }
        seen = peeked;
        match parse(&buffer[..seen]) {
            Parsed::Partial if seen < limit => {}
            Parsed::Partial | Parsed::Other => return Ok(None),
            Parsed::EventStream(request) => return Ok(Some(request)),
        }
    }
}

/// What a peeked head is. (Made once per connection and consumed at once: its size does not matter.)
#[allow(clippy::large_enum_variant)]
enum Parsed {
    /// Not whole yet.
    Partial,
    /// Not for this path.
    Other,
    /// One for this path.
    EventStream(EventStreamRequest),
}

fn parse(bytes: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let head_length = match head.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    // Nothing after the head (a pipelined request is hyper's), `GET` over HTTP/1.1 to an origin-form
    // target.
    if head_length != bytes.len() || head.method != Some("GET") || head.version != Some(1) {
        return Parsed::Other;
    }
    let Some(target) = head.path.filter(|target| target.starts_with('/')) else {
        return Parsed::Other;
    };
    let mut builder = http::Request::builder().method(http::Method::GET).uri(target).version(http::Version::HTTP_11);
    let mut asks_for_event_stream = false;
    for header in head.headers.iter() {
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_bytes(header.value))
        else {
            return Parsed::Other;
        };
        use http::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, EXPECT, TE, TRANSFER_ENCODING, UPGRADE};
        if [CONTENT_LENGTH, TRANSFER_ENCODING, EXPECT, UPGRADE, CONNECTION, TE].contains(&name) {
            return Parsed::Other;
        }
        if name == ACCEPT && contains_ignore_case(header.value, b"text/event-stream") {
            asks_for_event_stream = true;
        }
        builder = builder.header(name, value);
    }
    if !asks_for_event_stream {
        return Parsed::Other;
    }
    match builder.body(RequestBody::foreign(http_body_util::Empty::<Bytes>::new())) {
        Ok(request) => Parsed::EventStream(EventStreamRequest { head_length, request }),
        Err(_) => Parsed::Other,
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

/// Peeks into `buf` once without waiting; `WouldBlock` unless there is something new since `seen` bytes
/// (more bytes, or the end of the stream, reported as `seen`).
fn peek_news(stream: &TcpStream, buf: &mut [u8], seen: usize) -> io::Result<usize> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let mut read = ReadBuf::new(buf);
    match stream.poll_peek(&mut cx, &mut read) {
        Poll::Ready(Ok(0)) => Ok(seen),
        Poll::Ready(Ok(peeked)) if peeked > seen => Ok(peeked),
        Poll::Ready(Ok(_)) | Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        Poll::Ready(Err(err)) => Err(err),
    }
}

/// What became of a first request answered here.
pub(super) enum Answered {
    /// Not an event stream: hyper must send this answer to the head still in the socket.
    ToHyper(http::Response<ResponseBody>),
    /// The stream ended cleanly; the connection may serve more requests.
    StreamEnded,
    /// The stream ended with the connection (the client left, a write failed, the stream was cut off or
    /// broke): nothing more is to be done with it.
    ConnectionOver,
}

/// Answers `request` with the pipeline; writes the answer here when it is an event stream.
pub(super) async fn answer(
    app: Arc<App>,
    stream: &TcpStream,
    remote: SocketAddr,
    connection: &Connection,
    request: EventStreamRequest,
) -> Answered {
    let EventStreamRequest { head_length, request } = request;
    let response = Box::pin(app.handle(request, remote, connection)).await;
    if response.status() != http::StatusCode::OK || !response.body().is_event_stream() {
        return Answered::ToHyper(response);
    }
    // The head is answered here: take it off the socket (it is all there, peeked).
    if !Box::pin(discard(stream, head_length)).await {
        return Answered::ConnectionOver;
    }
    connection.apply_send_buffer(stream);
    let (parts, body) = response.into_parts();
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // As hyper does for the responses it writes (RFC 9110 §6.6.1: an origin server with a clock sends one).
    if !parts.headers.contains_key(http::header::DATE) {
        head.extend_from_slice(b"date: ");
        head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
    let cutoff = connection.cutoff.clone();
    tokio::select! {
        biased;
        () = cutoff.cancelled() => Answered::ConnectionOver,
        ended = write_stream(stream, head, body) => ended,
    }
}

/// Reads and drops `length` bytes already waiting in the socket. (Boxed by its caller: its buffer is
/// not kept for the stream's life.)
async fn discard(stream: &TcpStream, mut length: usize) -> bool {
    let mut buffer = [0u8; 512];
    while length > 0 {
        if stream.readable().await.is_err() {
            return false;
        }
        let wanted = length.min(buffer.len());
        match stream.try_read(&mut buffer[..wanted]) {
            Ok(0) => return false,
            Ok(read) => length -= read,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    true
}

/// Writes the head, then each chunk of `body`, until it ends, fails, or the client leaves.
async fn write_stream(stream: &TcpStream, head: Vec<u8>, mut body: ResponseBody) -> Answered {
    if write_all(stream, [&head, &[], &[]]).await.is_err() {
        return Answered::ConnectionOver;
    }
    drop(head);
    // Bytes from the client while the stream is open (another request sent early) are left for hyper,
    // and no longer watched.
    let mut watching = true;
    loop {
        let frame = tokio::select! {
            biased;
            gone = client_left(stream), if watching => {
                if gone {
                    return Answered::ConnectionOver;
                }
                watching = false;
                continue;
            }
            frame = body.frame() => frame,
        };
        match frame {
            None => {
                return match write_all(stream, [b"0\r\n\r\n", &[], &[]]).await {
                    Ok(()) => Answered::StreamEnded,
                    Err(_) => Answered::ConnectionOver,
                };
            }
            // The stream broke: cut the connection, no last chunk, so the client sees a failure.
            Some(Err(_)) => return Answered::ConnectionOver,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                if data.is_empty() {
                    continue;
                }
                let mut line = [0u8; 18];
                let size = chunk_size_line(data.len(), &mut line);
                if write_all(stream, [size, &data, b"\r\n"]).await.is_err() {
                    return Answered::ConnectionOver;
                }
            }
        }
    }
}

/// True when the client closed its side or the socket failed; false when it sent bytes.
async fn client_left(stream: &TcpStream) -> bool {
    let mut one = [0u8; 1];
    !matches!(stream.peek(&mut one).await, Ok(1..))
}

/// Writes `parts` whole, in as few writes as the socket allows.
async fn write_all(stream: &TcpStream, parts: [&[u8]; 3]) -> io::Result<()> {
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let mut written = 0;
    while written < total {
        stream.writable().await?;
        let mut slices = [IoSlice::new(&[]), IoSlice::new(&[]), IoSlice::new(&[])];
        let (mut count, mut skip) = (0, written);
        for part in parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices[count] = IoSlice::new(&part[skip..]);
            (skip, count) = (0, count + 1);
        }
        match stream.try_write_vectored(&slices[..count]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The line that opens a chunk of `length` bytes: its size in hexadecimal, then CRLF.
fn chunk_size_line(length: usize, line: &mut [u8; 18]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (usize::BITS - length.leading_zeros()).div_ceil(4).max(1) as usize;
    for (at, slot) in line[..digits].iter_mut().enumerate() {
        *slot = DIGITS[(length >> (4 * (digits - 1 - at))) & 0xf];
    }
    line[digits..digits + 2].copy_from_slice(b"\r\n");
    &line[..digits + 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_hexadecimal() {
        let mut line = [0u8; 18];
        for length in [0, 1, 9, 10, 15, 16, 255, 256, 4096, 65_535, usize::MAX] {
            assert_eq!(chunk_size_line(length, &mut line), format!("{length:x}\r\n").as_bytes());
        }
    }

    #[test]
    fn only_a_plain_whole_event_stream_head_is_taken() {
        let taken = |head: &[u8]| matches!(parse(head), Parsed::EventStream(_));
        assert!(taken(b"GET /sse HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n"));
        assert!(!taken(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n"), "no Accept");
        assert!(!taken(b"GET /sse HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n"), "HTTP/1.0");
        assert!(!taken(b"POST /sse HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n"), "not GET");
        assert!(!taken(b"GET /sse HTTP/1.1\r\nAccept: text/event-stream\r\nContent-Length: 0\r\n\r\n"), "a body");
        assert!(!taken(b"GET /sse HTTP/1.1\r\nAccept: text/event-stream\r\nExpect: 100-continue\r\n\r\n"));
        assert!(!taken(b"GET /sse HTTP/1.1\r\nAccept: text/event-stream\r\nConnection: upgrade\r\n\r\n"));
        assert!(!taken(b"GET /sse HTTP/1.1\r\nAccept: text/event-stream\r\n\r\nGET / HTTP/1.1\r\n\r\n"), "pipelined");
        assert!(!taken(b"GET http://a/sse HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n"), "absolute form");
        assert!(!taken(b"GET /sse HTTP/1.1\r\nAccept: text/event-stream\r\n"), "partial");
        assert!(matches!(parse(b"GET /sse HTTP/1.1\r\nAcc"), Parsed::Partial));
    }
}
