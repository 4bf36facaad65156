//! Access and error logs (Sisk's logging page): a [`LogStream`] is where lines go — a file rotated by a
//! [`RotatingPolicy`], or any writer — through tracing-appender's non-blocking writer, so a request never
//! waits for the disk; the access log writes one line per request in Sisk's format ([`access_log_format`])
//! when the request closes (an event stream when it ends), and the error log writes each failure no
//! callback error handler answered. Both are server handlers of sisk's own, off until the configuration
//! names a stream.

mod access_log;
pub(crate) mod access_log_format;
mod error_log;
mod log_stream;
mod rotating_policy;

pub use log_stream::LogStream;
pub use rotating_policy::RotatingPolicy;

use crate::http::handlers::HandlerList;
use crate::http::HttpServerConfiguration;
use crate::Error;
use access_log::AccessLog;
use access_log_format::AccessLogFormat;
use error_log::ErrorLog;

/// `handlers` followed by the access and error logs `configuration` names, their streams opened; a
/// format or a stream that cannot be used is the error.
pub(crate) fn with_logs(
    mut handlers: HandlerList,
    configuration: &HttpServerConfiguration,
) -> Result<HandlerList, Error> {
    if let Some(stream) = &configuration.access_logs_stream {
        let format = AccessLogFormat::parse(&configuration.access_logs_format)?;
        stream.open()?;
        handlers.push(AccessLog { stream: stream.clone(), format });
    }
    if let Some(stream) = &configuration.errors_logs_stream {
        stream.open()?;
        handlers.push(ErrorLog { stream: stream.clone() });
    }
    Ok(handlers)
}
