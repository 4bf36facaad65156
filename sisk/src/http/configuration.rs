//! [`HttpServerConfiguration`]: the limits and timeouts of a server, set through
//! [`use_configuration`](crate::http::HttpServerHostContextBuilder::use_configuration).

use std::time::Duration;

use crate::http::streams::{EventLogOptions, IdentifierPolicy};
use crate::http::ForwardingResolver;

/// Limits and timeouts of a server. Every field has a default suited to a public service.
///
/// ```
/// use std::time::Duration;
/// use sisk::prelude::*;
///
/// let app = HttpServer::create_builder()
///     .use_listening_port("http://127.0.0.1:0/")
///     .use_configuration(|config| {
///         config.maximum_content_length = 64 * 1024;
///         config.header_read_timeout = Duration::from_secs(5);
///     })
///     .build()
///     .unwrap();
/// assert_eq!(app.server().configuration().maximum_content_length, 64 * 1024);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpServerConfiguration {
    /// The largest request body accepted, in bytes (default 4 MiB; `0` means no limit). A request whose
    /// `Content-Length` is larger is answered `413` before its action runs; a chunked body that grows past
    /// it fails to read with an error whose response is `413`.
    pub maximum_content_length: u64,
    /// The largest request head (request line and headers) accepted, in bytes (default 64 KiB, at least
    /// 8 KiB). A larger head is answered `431`, or `414` when its request line alone is longer than that
    /// (the target is what is too long). Over HTTP/2 it bounds the header list as the protocol counts it
    /// (32 bytes more per header).
    pub maximum_header_size: usize,
    /// How long a client may take to send the request head, counted from the moment its connection is
    /// accepted (default 10 s); a slower one is answered `408` or disconnected. On a kept-alive HTTP/1.1
    /// connection it also bounds the wait for the next request.
    pub header_read_timeout: Duration,
    /// How long a request body may pause between two reads before its read fails with `408` (default
    /// 10 s). A client that sends part of its body and stops no longer holds its connection and handler.
    pub body_idle_timeout: Duration,
    /// How long reading a whole request body may take before it fails with `408` (default 60 s), however
    /// steadily the bytes arrive.
    pub body_read_timeout: Duration,
    /// How many fields a form may have (default 1,000): the pairs of an `application/x-www-form-urlencoded`
    /// body, the parts of a `multipart/form-data` one, files included. One more is refused with `413`.
    pub maximum_form_fields: usize,
    /// The largest value of a form field that is not a file, in bytes (default 64 KiB): a part of a
    /// multipart form without a file name. A larger one is refused with `413`. (A urlencoded form is
    /// bounded by [`maximum_content_length`](Self::maximum_content_length) as a whole.)
    pub maximum_form_field_size: u64,
    /// The largest file of a multipart form, in bytes (default 4 MiB, as the whole body): a part with a
    /// file name. A larger one is refused with `413` as soon as it passes the limit, and a file being
    /// saved is removed. Raise it with `maximum_content_length` to accept larger uploads.
    pub maximum_file_size: u64,
    /// Trusted proxies whose forwarding headers (`Forwarded`, `X-Forwarded-For`, `-Proto`, `-Host`) give
    /// the client's address, scheme and host (default `None`: the headers are ignored, whoever sends them).
    /// See [`ForwardingResolver`].
    pub forwarding_resolver: Option<ForwardingResolver>,
    /// How long a graceful shutdown waits for requests and streams to finish before dropping them
    /// (default 10 s).
    pub shutdown_timeout: Duration,
    /// How many messages an event-source connection may have waiting for a slow client (default 1024).
    /// A `send` that finds the queue full closes the connection (with a warning in the log) rather than
    /// slowing other clients or growing memory; `send_async` waits for room instead.
    pub event_source_queue_capacity: usize,
    /// How many bytes of messages an event-source connection may have waiting for a slow client (default
    /// 4 MiB), the same policy as [`event_source_queue_capacity`](Self::event_source_queue_capacity): a few
    /// large messages reach it before a thousand small ones would. A message larger than the whole bound
    /// still goes out when the queue is empty. A broadcast's bytes are shared by every queue it is in, so
    /// each counts them but memory holds them once.
    pub event_source_queue_bytes: usize,
    /// The kernel send buffer asked for the socket of an HTTP/1.1 connection that becomes an event stream,
    /// in bytes (default 64 KiB; `0` leaves the kernel's own sizing, which grows up to 4 MiB on Linux).
    /// Linux doubles the value for its bookkeeping, so one client that stops reading holds at most about
    /// twice this in the kernel, besides its queue. Over HTTP/2 the socket is shared and each stream is
    /// bounded by flow control instead.
    pub event_source_send_buffer: usize,
    /// How long a client is told to wait before reconnecting when the handler of its event stream fails
    /// (a server error returned, a panic) after the stream began (default 10 s): the stream then breaks
    /// instead of ending cleanly, after a `retry:` field with this delay, so a browser does not reconnect
    /// into the same failure every few seconds.
    pub event_source_error_retry: Duration,
    /// The bounds of the event log that gives published events their ids and resumes clients that
    /// reconnect with `Last-Event-ID` (10,000 events, 5 minutes, replays of at most 1,000 events).
    pub event_log: EventLogOptions,
    /// What happens when a connection opens with an identifier already in use (default: both stay
    /// open; see [`IdentifierPolicy`] for Sisk's replacement and the other choices).
    pub identifier_policy: IdentifierPolicy,
    /// How many connections may be open at once (default 16,384; `0` means no limit). A connection
    /// accepted over the limit is closed at once, before a byte of it is read, and the clients already
    /// in are untouched; a warning is logged when the server becomes full.
    ///
    /// Closed rather than answered `503`: a browser's `EventSource` treats a response other than `200`
    /// as final and never reconnects, while a closed connection is a network error it retries after its
    /// `retry` delay — the behaviour wanted when a server is only momentarily full. Closing also costs
    /// no read and no parse, which matters most when the server is full because it is under attack.
    ///
    /// The default leaves room for the default [`maximum_event_sources`](Self::maximum_event_sources)
    /// over HTTP/1.1 (one connection each) with ordinary requests beside them. Each connection holds a
    /// file descriptor, so the process's descriptor limit (`ulimit -n`, `LimitNOFILE=` in systemd) must
    /// be above this, or accepting fails before the limit is reached.
    pub maximum_connections: usize,
    /// How many event streams may be open at once (default 10,000; `0` means no limit), counted from
    /// `get_event_source` until the request that opened the stream is over. Over the limit,
    /// [`get_event_source`](crate::http::HttpRequest::get_event_source) returns a refused source whose
    /// `close()` answers a stream the browser retries — `200`, `text/event-stream`, `retry: 5000`, then
    /// the end, with `Retry-After: 5` (a `503` would end an `EventSource` for good) — and
    /// [`try_get_event_source`](crate::http::HttpRequest::try_get_event_source) returns the error
    /// ([`ErrorKind::TooManyEventSources`](crate::ErrorKind::TooManyEventSources)) whose answer that is.
    /// Over HTTP/2 many streams share one connection, so this, not
    /// [`maximum_connections`](Self::maximum_connections), is what bounds them. At about 8 KB per open
    /// stream (BENCHMARKS.md measures it) the default holds the streams near 80 MB.
    pub maximum_event_sources: usize,
    /// How many streams one HTTP/2 connection may have open at once (default 1000); more are refused
    /// by the protocol (`REFUSED_STREAM`) without touching the others.
    pub http2_max_concurrent_streams: u32,
    /// How often an idle HTTP/2 connection is pinged to find a peer that vanished (default 20 s; `None`
    /// turns pings off).
    pub http2_keep_alive_interval: Option<Duration>,
    /// How long a ping may go unanswered before the HTTP/2 connection is closed (default 20 s).
    pub http2_keep_alive_timeout: Duration,
    /// How many bytes a [response stream](crate::http::streams::HttpResponseStream) may have written and
    /// not yet handed to the transport (default 256 KiB). A `write` past it waits until the client has
    /// read enough, so a handler that writes faster than its client reads is slowed, never buffered whole.
    /// A single write larger than the bound still goes out once the queue is empty.
    pub response_stream_queue_bytes: usize,
    /// How many writes a [response stream](crate::http::streams::HttpResponseStream) may have waiting
    /// (default 64), the same policy as [`response_stream_queue_bytes`](Self::response_stream_queue_bytes)
    /// for many small writes.
    pub response_stream_queue_capacity: usize,
    /// Compresses responses for the clients that accept it (Sisk's `EnableAutomaticResponseCompression`,
    /// default `false`): brotli, zstd, gzip or deflate, as `Accept-Encoding` prefers them (brotli first
    /// on a tie). Event streams are never compressed; a streamed body is flushed after every chunk, so
    /// compression holds nothing back; a response that already has a `Content-Encoding`, says
    /// `Cache-Control: no-transform`, is a byte range (`206`), or is shorter than 32 bytes is left as it
    /// is. (Needs the `compression` feature.)
    #[cfg(feature = "compression")]
    pub enable_automatic_response_compression: bool,
    /// Where the access log goes (Sisk's `AccessLogsStream`, default `None`: no access log). One line
    /// per request, in [`access_logs_format`](Self::access_logs_format), written when the request
    /// closes: an event stream's line is written once, when it ends, with its lifetime. (Needs the
    /// `logging` feature.)
    #[cfg(feature = "logging")]
    pub access_logs_stream: Option<crate::http::LogStream>,
    /// The format of the access log's lines (Sisk's `AccessLogsFormat`); the default is Sisk's:
    /// `%ri - [%dd/%dmm/%dy %tH:%ti:%ts %tz] "%rm %rz%rq" %sc %lou`, which reads
    /// `127.0.0.1 - [05/Jul/2026 15:21:47 +00:00] "GET /items?page=2" 200 1.2 KB`. An unknown
    /// variable fails `build`. The variables are those of Sisk's logging page: `%dd` `%dmmm` `%dmm` `%dm`
    /// `%dy` (date), `%th` `%tH` `%ti` `%ts` `%tm` `%tz` (time the request arrived, local), `%ri` (the
    /// client's address, as the [forwarding resolver](Self::forwarding_resolver) sees it), `%rm` `%rs`
    /// `%ra` `%rh` `%rp` `%rz` `%rq` (method, scheme, authority, host, port, path, `?query`), `%sc` `%sd`
    /// (status code and text), `%lin` `%linr` `%lou` `%lour` (request and response sizes, readable or in
    /// bytes), `%lms` (milliseconds to the request's close), `%ls` (how it ended, an
    /// [`HttpServerExecutionStatus`](crate::http::handlers::HttpServerExecutionStatus)), `%{name}` (a
    /// request header), `%{:name}` (a response header), and `%%`.
    #[cfg(feature = "logging")]
    pub access_logs_format: String,
    /// Where the error log goes (Sisk's `ErrorsLogsStream`, default `None`): each failure of a handler
    /// that no [callback error handler](crate::routing::Router::set_callback_error_handler) answered,
    /// with the time, the request line and headers (not the body), and the error with its causes (or the
    /// panic's message). (Needs the `logging` feature.)
    #[cfg(feature = "logging")]
    pub errors_logs_stream: Option<crate::http::LogStream>,
    /// How many messages a WebSocket may have waiting for a slow client (default 1024), the event
    /// sources' policy: a `send` that finds the queue full disconnects that client alone (with a warning
    /// in the log); `send_async` waits for room instead.
    #[cfg(feature = "websockets")]
    pub web_socket_queue_capacity: usize,
    /// How many bytes of messages a WebSocket may have waiting for a slow client (default 4 MiB), the
    /// same policy as [`web_socket_queue_capacity`](Self::web_socket_queue_capacity). A broadcast's
    /// payload is shared by every queue it is in.
    #[cfg(feature = "websockets")]
    pub web_socket_queue_bytes: usize,
    /// The largest message a WebSocket client may send, its fragments joined (default 1 MiB): a larger
    /// one closes the connection with code 1009.
    #[cfg(feature = "websockets")]
    pub web_socket_max_message_size: usize,
    /// The largest frame a WebSocket client may send (default 1 MiB): a larger one closes the
    /// connection with code 1009.
    #[cfg(feature = "websockets")]
    pub web_socket_max_frame_size: usize,
}

impl Default for HttpServerConfiguration {
    fn default() -> Self {
        HttpServerConfiguration {
            maximum_content_length: 4 * 1024 * 1024,
            maximum_header_size: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            maximum_form_fields: 1000,
            maximum_form_field_size: 64 * 1024,
            maximum_file_size: 4 * 1024 * 1024,
            forwarding_resolver: None,
            shutdown_timeout: Duration::from_secs(10),
            event_source_queue_capacity: 1024,
            event_source_queue_bytes: 4 * 1024 * 1024,
            event_source_send_buffer: 64 * 1024,
            event_source_error_retry: Duration::from_secs(10),
            event_log: EventLogOptions::default(),
            identifier_policy: IdentifierPolicy::default(),
            maximum_connections: 16_384,
            maximum_event_sources: 10_000,
            http2_max_concurrent_streams: 1000,
            http2_keep_alive_interval: Some(Duration::from_secs(20)),
            http2_keep_alive_timeout: Duration::from_secs(20),
            response_stream_queue_bytes: 256 * 1024,
            response_stream_queue_capacity: 64,
            #[cfg(feature = "compression")]
            enable_automatic_response_compression: false,
            #[cfg(feature = "logging")]
            access_logs_stream: None,
            #[cfg(feature = "logging")]
            access_logs_format: crate::http::logging::access_log_format::DEFAULT_ACCESS_LOG_FORMAT.to_owned(),
            #[cfg(feature = "logging")]
            errors_logs_stream: None,
            #[cfg(feature = "websockets")]
            web_socket_queue_capacity: 1024,
            #[cfg(feature = "websockets")]
            web_socket_queue_bytes: 4 * 1024 * 1024,
            #[cfg(feature = "websockets")]
            web_socket_max_message_size: 1024 * 1024,
            #[cfg(feature = "websockets")]
            web_socket_max_frame_size: 1024 * 1024,
        }
    }
}
