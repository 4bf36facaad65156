//! [`HttpServerConfiguration`]: the limits and timeouts of a server, set through
//! [`use_configuration`](crate::http::HttpServerHostContextBuilder::use_configuration).

use std::time::Duration;

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
    /// 8 KiB). A larger head is answered `431`.
    pub maximum_header_size: usize,
    /// How long a client may take to send the request head (default 10 s); a slower one is disconnected.
    pub header_read_timeout: Duration,
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
}

impl Default for HttpServerConfiguration {
    fn default() -> Self {
        HttpServerConfiguration {
            maximum_content_length: 4 * 1024 * 1024,
            maximum_header_size: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            event_source_queue_capacity: 1024,
            event_source_queue_bytes: 4 * 1024 * 1024,
        }
    }
}
