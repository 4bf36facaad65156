//! [`AccessLog`]: the server handler that writes one line per request, in the configured format, when
//! the request closes — so an event stream is written once, when it ends, with its lifetime.

use crate::http::handlers::{HttpServerExecutionResult, HttpServerHandler};
use crate::http::logging::access_log_format::AccessLogFormat;
use crate::http::LogStream;

/// Writes each closed request to `stream` in `format`.
pub(crate) struct AccessLog {
    pub(crate) stream: LogStream,
    pub(crate) format: AccessLogFormat,
}

impl HttpServerHandler for AccessLog {
    fn on_http_request_close(&self, result: &HttpServerExecutionResult) {
        self.stream.write_line(self.format.line(result));
    }
}
