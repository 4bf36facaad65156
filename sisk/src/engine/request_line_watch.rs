//! [`RequestLineWatch`]: a `431` that hyper answers to a head whose request line alone is too long goes
//! out as `414 URI Too Long` (RFC 9110 §15.5.15), as nginx answers it; a head too long for its header
//! fields keeps its `431`.
//!
//! hyper refuses a head that outgrows its buffer with `431` whatever made it long. What it cannot tell,
//! the bytes it read can: the watch keeps, for the line being read, its length and its first bytes, and
//! notes a line longer than the limit that began as a request line does — a method token and a space,
//! where a header field has a name and a colon. hyper refuses the head that line opens, so the `431` it
//! writes next gets the `414` status line instead. The cost on the common path is one backward search
//! for `\n` per read (a head ends with one) and one comparison of a write's first bytes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// The status line hyper writes for a head it refuses as too large.
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\n";
/// What goes out instead when the request line is what is too long.
const URI_TOO_LONG: &[u8] = b"HTTP/1.1 414 URI Too Long\r\n";
/// How many of a line's first bytes are kept: enough for any method a client sends, and its space.
const START: usize = 24;

/// The lines read on an HTTP/1.1 connection, and a status line being rewritten.
#[derive(Debug)]
pub(crate) struct RequestLineWatch {
    /// The server's `maximum_header_size`.
    limit: usize,
    /// The first bytes of the line being read.
    start: [u8; START],
    /// How many of `start` are filled.
    kept: usize,
    /// The length of the line being read so far.
    line: usize,
    /// A request line longer than `limit` was read: hyper refuses the head it opens.
    overlong: bool,
    /// How many bytes of `URI_TOO_LONG` are written, while a rewrite is under way.
    rewriting: Option<usize>,
}

impl RequestLineWatch {
    /// A watch for heads of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        RequestLineWatch { limit, start: [0; START], kept: 0, line: 0, overlong: false, rewriting: None }
    }

    /// Notes bytes just read.
    pub(crate) fn read(&mut self, bytes: &[u8]) {
        if self.line + bytes.len() <= self.limit {
            // No line can grow past the limit in these bytes: only the one still open at their end
            // matters.
            let open = match memchr::memrchr(b'\n', bytes) {
                Some(newline) => {
                    self.end_line();
                    &bytes[newline + 1..]
                }
                None => bytes,
            };
            self.extend(open);
            return;
        }
        for line in bytes.split_inclusive(|&byte| byte == b'\n') {
            self.extend(line);
            if self.line > self.limit && self.in_request_line() {
                self.overlong = true;
            }
            if line.ends_with(b"\n") {
                self.end_line();
            }
        }
    }

    /// The line being read goes on with `part`.
    fn extend(&mut self, part: &[u8]) {
        let taken = part.len().min(START - self.kept);
        self.start[self.kept..self.kept + taken].copy_from_slice(&part[..taken]);
        self.kept += taken;
        self.line += part.len();
    }

    /// The line being read ended.
    fn end_line(&mut self) {
        self.kept = 0;
        self.line = 0;
    }

    /// True when the line being read began as a request line: a method token, then a space.
    fn in_request_line(&self) -> bool {
        let start = &self.start[..self.kept];
        let Some(space) = start.iter().position(|&byte| byte == b' ') else {
            return false;
        };
        space > 0 && start[..space].iter().all(|&byte| byte.is_ascii_uppercase() || byte == b'-' || byte == b'_')
    }

    /// Writes `buf` (the first of a write's buffers) to `stream` when it opens with hyper's `431` status
    /// line and a request line longer than the limit was read: with the `414` status line instead (hyper
    /// is told its own status line was written once the new one is). `None` leaves the write to the
    /// caller.
    pub(crate) fn poll_write<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Option<Poll<io::Result<usize>>> {
        if self.rewriting.is_none() && !(self.overlong && buf.starts_with(TOO_LARGE)) {
            return None;
        }
        let written = self.rewriting.get_or_insert(0);
        while *written < URI_TOO_LONG.len() {
            match Pin::new(&mut *stream).poll_write(cx, &URI_TOO_LONG[*written..]) {
                Poll::Ready(Ok(0)) => return Some(Poll::Ready(Err(io::ErrorKind::WriteZero.into()))),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(err)) => return Some(Poll::Ready(Err(err))),
                Poll::Pending => return Some(Poll::Pending),
            }
        }
        self.rewriting = None;
        self.overlong = false;
        Some(Poll::Ready(Ok(TOO_LARGE.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(reads: &[&[u8]]) -> bool {
        let mut watch = RequestLineWatch::new(64);
        for read in reads {
            watch.read(read);
        }
        watch.overlong
    }

    #[test]
    fn a_request_line_over_the_limit_is_noted_in_one_read_or_many() {
        let target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(100));
        assert!(watched(&[target.as_bytes()]));
        let (first, rest) = target.as_bytes().split_at(10);
        assert!(watched(&[first, rest]));
        let pipelined = format!("GET / HTTP/1.1\r\nHost: t\r\n\r\n{target}");
        assert!(watched(&[pipelined.as_bytes()]), "after a request in the same read");
        assert!(watched(&[b"GET / HTTP/1.1\r\n\r\n", target.as_bytes()]), "after a request in an earlier read");
    }

    #[test]
    fn header_fields_and_other_long_lines_are_not_request_lines() {
        let header = format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(100));
        assert!(!watched(&[header.as_bytes()]));
        assert!(!watched(&["M".repeat(100).as_bytes()]), "a method with no space in sight");
        assert!(!watched(&[b"GET / HTTP/1.1\r\n\r\n", b"GET /short HTTP/1.1\r\n\r\n"]));
    }
}
