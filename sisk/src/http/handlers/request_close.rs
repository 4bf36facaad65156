//! [`RequestClose`]: what is known of an observed request between its answer and its close, and the
//! calling of the close hooks when its response's body has ended or been dropped (the body holds it: see
//! [`ResponseBody::closing_with`](crate::http::body::ResponseBody::closing_with)).

use std::time::{Instant, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::http::handlers::{HttpServerExecutionResult, HttpServerExecutionStatus};
use crate::http::HttpServer;
use crate::routing::pipeline::Observed;

/// An observed request whose response is on its way.
#[derive(Debug)]
pub(crate) struct RequestClose {
    server: HttpServer,
    observed: Box<Observed>,
    status_code: StatusCode,
    response_headers: HeaderMap,
    is_event_stream: bool,
    received_at: SystemTime,
    started: Instant,
}

impl RequestClose {
    /// The close to come of `observed`, answered with this status and these headers; it arrived at
    /// `received_at`, `started` on the monotonic clock.
    pub(crate) fn new(
        server: HttpServer,
        observed: Box<Observed>,
        response: &http::Response<crate::http::ResponseBody>,
        received_at: SystemTime,
        started: Instant,
    ) -> Self {
        RequestClose {
            server,
            observed,
            status_code: response.status(),
            response_headers: response.headers().clone(),
            is_event_stream: response.body().is_event_stream(),
            received_at,
            started,
        }
    }

    /// Calls the close hooks of the server's handlers: `sent` bytes of body went out, and the body
    /// `ended` (rather than being dropped before its end).
    pub(crate) fn close(self, sent: u64, ended: bool) {
        let Observed { request, request_size, too_large, failure, answered_by_callback } = *self.observed;
        let status = match (&failure, answered_by_callback) {
            _ if too_large => HttpServerExecutionStatus::ContentTooLarge,
            (Some(_), true) => HttpServerExecutionStatus::ExceptionThrown,
            (Some(_), false) => HttpServerExecutionStatus::UncaughtExceptionThrown,
            (None, _) if ended => HttpServerExecutionStatus::Executed,
            (None, _) => HttpServerExecutionStatus::ConnectionClosed,
        };
        let result = HttpServerExecutionResult {
            request,
            status,
            status_code: self.status_code,
            response_headers: self.response_headers,
            failure,
            request_size,
            response_size: sent,
            received_at: self.received_at,
            elapsed: self.started.elapsed(),
            is_event_stream: self.is_event_stream,
        };
        self.server.handlers().each("on_http_request_close", |handler| handler.on_http_request_close(&result));
    }
}
