//! [`ErrorLog`]: the server handler that writes each failure no callback error handler answered (as
//! Sisk's error log does): when and what was asked, the request's headers (never its body), and the
//! error with each of its causes, or the panic's message.

use std::fmt::Write as _;

use chrono::{DateTime, Local};

use crate::http::handlers::{HttpServerExecutionResult, HttpServerExecutionStatus, HttpServerHandler};
use crate::http::LogStream;
use crate::routing::HandlerFailure;

/// Writes the unanswered failures to `stream`.
pub(crate) struct ErrorLog {
    pub(crate) stream: LogStream,
}

impl HttpServerHandler for ErrorLog {
    fn on_http_request_close(&self, result: &HttpServerExecutionResult) {
        let Some(failure) = result.failure() else { return };
        if result.status() != HttpServerExecutionStatus::UncaughtExceptionThrown {
            return;
        }
        self.stream.write_line(entry(result, failure));
    }
}

/// The entry for `failure`, one line per item.
fn entry(result: &HttpServerExecutionResult, failure: &HandlerFailure) -> String {
    let request = result.request();
    let time: DateTime<Local> = result.received_at().into();
    let mut entry = String::with_capacity(512);
    let _ = writeln!(
        entry,
        "[{}] {} {} answered {} after {} ms",
        time.format("%Y-%m-%d %H:%M:%S%.3f %:z"),
        request.method(),
        request.uri(),
        result.status_code().as_u16(),
        result.elapsed().as_millis()
    );
    for (name, value) in request.headers() {
        let _ = writeln!(entry, "  {}: {}", name, String::from_utf8_lossy(value.as_bytes()));
    }
    match failure {
        HandlerFailure::Error(error) => {
            let _ = write!(entry, "error: {error}");
            let mut cause = std::error::Error::source(error);
            while let Some(inner) = cause {
                let _ = write!(entry, "\n  caused by: {inner}");
                cause = inner.source();
            }
        }
        HandlerFailure::Panic(message) => {
            let _ = write!(entry, "panic: {message}");
        }
    }
    entry
}
