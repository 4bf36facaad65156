//! [`HttpServerExecutionResult`]: what became of one request, as the server's handlers and its access and
//! error logs see it once the request is closed (Sisk's `HttpServerExecutionResult`).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::http::HttpRequest;
use crate::routing::HandlerFailure;

/// How a request ended (Sisk's `HttpServerExecutionStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpServerExecutionStatus {
    /// The response was answered and its body handed to the connection to its last byte.
    Executed,
    /// The client left (or the connection failed) before the response's body ended: the usual end of an
    /// event stream whose client closed it.
    ConnectionClosed,
    /// The request declared a body larger than
    /// [`maximum_content_length`](crate::http::HttpServerConfiguration::maximum_content_length) and was
    /// answered `413` before any handler ran.
    ContentTooLarge,
    /// A handler failed (returned an error or panicked) and the router's callback error handler gave
    /// the answer.
    ExceptionThrown,
    /// A handler failed and, without a callback error handler (or with one that panicked), sisk gave
    /// its own answer.
    UncaughtExceptionThrown,
}

/// What became of one request: given to
/// [`HttpServerHandler::on_http_request_close`](crate::http::handlers::HttpServerHandler::on_http_request_close)
/// and written by the access and error logs.
#[derive(Debug)]
pub struct HttpServerExecutionResult {
    pub(crate) request: HttpRequest,
    pub(crate) status: HttpServerExecutionStatus,
    pub(crate) status_code: StatusCode,
    pub(crate) response_headers: HeaderMap,
    pub(crate) failure: Option<HandlerFailure>,
    pub(crate) request_size: u64,
    pub(crate) response_size: u64,
    pub(crate) received_at: SystemTime,
    pub(crate) elapsed: Duration,
    pub(crate) is_event_stream: bool,
}

impl HttpServerExecutionResult {
    /// The request.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// How the request ended.
    pub fn status(&self) -> HttpServerExecutionStatus {
        self.status
    }

    /// True when the request was answered as the program meant (Sisk's `IsSuccessStatus`): it was
    /// [`Executed`](HttpServerExecutionStatus::Executed), or its client left
    /// ([`ConnectionClosed`](HttpServerExecutionStatus::ConnectionClosed)).
    pub fn is_success_status(&self) -> bool {
        matches!(self.status, HttpServerExecutionStatus::Executed | HttpServerExecutionStatus::ConnectionClosed)
    }

    /// The status code the response was sent with.
    pub fn status_code(&self) -> StatusCode {
        self.status_code
    }

    /// The headers the response was sent with.
    pub fn response_headers(&self) -> &HeaderMap {
        &self.response_headers
    }

    /// The failure of a handler the request met (an error it returned, or its panic), whoever answered it.
    pub fn failure(&self) -> Option<&HandlerFailure> {
        self.failure.as_ref()
    }

    /// The size of the request's body in bytes, as its `Content-Length` declared it (`0` without one).
    pub fn request_size(&self) -> u64 {
        self.request_size
    }

    /// The bytes of response body handed to the connection (after compression, when it applies); for a
    /// `HEAD` request, none.
    pub fn response_size(&self) -> u64 {
        self.response_size
    }

    /// When the request arrived.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// The time from the request's arrival to its close: for an event stream, the stream's lifetime.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// True when the response was an event stream.
    pub fn is_event_stream(&self) -> bool {
        self.is_event_stream
    }
}
