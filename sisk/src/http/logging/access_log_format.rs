//! Sisk's access-log format, parsed once when the server is built: a line is literal text and
//! variables — `%dd/%dmm/%dy %tH:%ti:%ts %tz` for the time the request arrived, `%ri` for the client's
//! address (as the forwarding resolver sees it), `%rm %rz%rq` for the method, path and query, `%sc %sd`
//! for the status, `%lin`/`%lou` for the sizes, `%lms` for the time to the request's close (an event
//! stream's lifetime), `%ls` for how it ended, `%{name}` for a request header and `%{:name}` for a
//! response header. `%%` is a `%`. The table of Sisk's logging page lists each.

use std::fmt::Write as _;

use chrono::{DateTime, Local};

use crate::http::handlers::HttpServerExecutionResult;
use crate::Error;

/// Sisk's default access-log format: `::1 - [05/Jul/2023 15:21:47 -03:00] "GET /path?q=1" 200 1.2 KB`.
pub(crate) const DEFAULT_ACCESS_LOG_FORMAT: &str = "%ri - [%dd/%dmm/%dy %tH:%ti:%ts %tz] \"%rm %rz%rq\" %sc %lou";

/// The variables, longest first where one begins another (`%dmmm` before `%dmm` before `%dm`).
const VARIABLES: &[(&str, Variable)] = &[
    ("dmmm", Variable::MonthName),
    ("dmm", Variable::MonthAbbreviation),
    ("dm", Variable::Month),
    ("dd", Variable::Day),
    ("dy", Variable::Year),
    ("th", Variable::Hour12),
    ("tH", Variable::Hour24),
    ("ti", Variable::Minute),
    ("ts", Variable::Second),
    ("tm", Variable::Millisecond),
    ("tz", Variable::Offset),
    ("ri", Variable::RemoteAddress),
    ("rm", Variable::Method),
    ("rs", Variable::Scheme),
    ("ra", Variable::Authority),
    ("rh", Variable::Host),
    ("rp", Variable::Port),
    ("rz", Variable::Path),
    ("rq", Variable::Query),
    ("sc", Variable::StatusCode),
    ("sd", Variable::StatusDescription),
    ("linr", Variable::RequestSizeRaw),
    ("lin", Variable::RequestSize),
    ("lour", Variable::ResponseSizeRaw),
    ("lou", Variable::ResponseSize),
    ("lms", Variable::Elapsed),
    ("ls", Variable::ExecutionStatus),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variable {
    Day,
    MonthName,
    MonthAbbreviation,
    Month,
    Year,
    Hour12,
    Hour24,
    Minute,
    Second,
    Millisecond,
    Offset,
    RemoteAddress,
    Method,
    Scheme,
    Authority,
    Host,
    Port,
    Path,
    Query,
    StatusCode,
    StatusDescription,
    RequestSize,
    RequestSizeRaw,
    ResponseSize,
    ResponseSizeRaw,
    Elapsed,
    ExecutionStatus,
}

/// One piece of a format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable(Variable),
    RequestHeader(http::HeaderName),
    ResponseHeader(http::HeaderName),
}

/// An access-log format, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessLogFormat(Vec<Piece>);

impl AccessLogFormat {
    /// Parses `format`; an unknown variable, an unclosed `%{` or a header name that cannot be one is an
    /// error that names it.
    pub(crate) fn parse(format: &str) -> Result<Self, Error> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(at) = rest.find('%') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(after) = after.strip_prefix('%') {
                text.push('%');
                rest = after;
                continue;
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            let (piece, length) = variable_at(after)?;
            pieces.push(piece);
            rest = &after[length..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(AccessLogFormat(pieces))
    }

    /// The line for `result`.
    pub(crate) fn line(&self, result: &HttpServerExecutionResult) -> String {
        let time: DateTime<Local> = result.received_at().into();
        let request = result.request();
        let mut line = String::with_capacity(128);
        for piece in &self.0 {
            // Writing to a `String` cannot fail.
            let _ = match piece {
                Piece::Text(text) => line.write_str(text),
                Piece::RequestHeader(name) => line.write_str(header_text(request.headers().get(name))),
                Piece::ResponseHeader(name) => line.write_str(header_text(result.response_headers().get(name))),
                Piece::Variable(variable) => write_variable(&mut line, *variable, result, &time),
            };
        }
        line
    }
}

/// The variable at the start of `after` (what follows a `%`), with the length it takes.
fn variable_at(after: &str) -> Result<(Piece, usize), Error> {
    if let Some(inside) = after.strip_prefix('{') {
        let Some(end) = inside.find('}') else {
            return Err(Error::invalid_log_configuration(format!(
                "the access-log format has `%{{` without its `}}` in \"%{after}\""
            )));
        };
        let name = &inside[..end];
        let (name, of_response) = match name.strip_prefix(':') {
            Some(name) => (name, true),
            None => (name, false),
        };
        let header = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid_log_configuration(format!("`%{{{name}}}` in the access-log format is not a header name"))
        })?;
        let piece = if of_response { Piece::ResponseHeader(header) } else { Piece::RequestHeader(header) };
        return Ok((piece, end + 2));
    }
    VARIABLES
        .iter()
        .find(|(name, _)| after.starts_with(name))
        .map(|(name, variable)| (Piece::Variable(*variable), name.len()))
        .ok_or_else(|| {
            let shown: String = after.chars().take(4).collect();
            Error::invalid_log_configuration(format!(
                "the access-log format has an unknown variable \"%{shown}\"; the known ones are {}, %{{header}}, \
                 %{{:response-header}} and %% (see Sisk's logging page)",
                VARIABLES.iter().map(|(name, _)| format!("%{name}")).collect::<Vec<_>>().join(", ")
            ))
        })
}

fn header_text(value: Option<&http::HeaderValue>) -> &str {
    value.and_then(|value| value.to_str().ok()).unwrap_or("")
}

fn write_variable(
    line: &mut String,
    variable: Variable,
    result: &HttpServerExecutionResult,
    time: &DateTime<Local>,
) -> std::fmt::Result {
    let request = result.request();
    match variable {
        Variable::Day => write!(line, "{}", time.format("%d")),
        Variable::MonthName => write!(line, "{}", time.format("%B")),
        Variable::MonthAbbreviation => write!(line, "{}", time.format("%b")),
        Variable::Month => write!(line, "{}", time.format("%m")),
        Variable::Year => write!(line, "{}", time.format("%Y")),
        Variable::Hour12 => write!(line, "{}", time.format("%I")),
        Variable::Hour24 => write!(line, "{}", time.format("%H")),
        Variable::Minute => write!(line, "{}", time.format("%M")),
        Variable::Second => write!(line, "{}", time.format("%S")),
        Variable::Millisecond => write!(line, "{}", time.format("%3f")),
        Variable::Offset => write!(line, "{}", time.format("%:z")),
        Variable::RemoteAddress => write!(line, "{}", request.remote_address().ip()),
        Variable::Method => line.write_str(request.method().as_str()),
        Variable::Scheme => line.write_str(if request.is_secure() { "https" } else { "http" }),
        Variable::Authority => line.write_str(request.authority().unwrap_or("")),
        Variable::Host => line.write_str(request.host().unwrap_or("")),
        Variable::Port => match request.authority().and_then(|a| a.rsplit_once(':')).map(|(_, port)| port) {
            Some(port) => line.write_str(port),
            None => line.write_str(if request.is_secure() { "443" } else { "80" }),
        },
        Variable::Path => line.write_str(request.path()),
        Variable::Query => match request.uri().query() {
            Some(query) => write!(line, "?{query}"),
            None => Ok(()),
        },
        Variable::StatusCode => write!(line, "{}", result.status_code().as_u16()),
        Variable::StatusDescription => line.write_str(result.status_code().canonical_reason().unwrap_or("")),
        Variable::RequestSize => write_size(line, result.request_size()),
        Variable::RequestSizeRaw => write!(line, "{}", result.request_size()),
        Variable::ResponseSize => write_size(line, result.response_size()),
        Variable::ResponseSizeRaw => write!(line, "{}", result.response_size()),
        Variable::Elapsed => write!(line, "{}", result.elapsed().as_millis()),
        Variable::ExecutionStatus => write!(line, "{:?}", result.status()),
    }
}

/// A size as Sisk writes it for people: `689B`, `1.2 KB`, `3.4 MB`, `1.0 GB`.
fn write_size(line: &mut String, bytes: u64) -> std::fmt::Result {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return write!(line, "{bytes}B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    write!(line, "{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(bytes: u64) -> String {
        let mut line = String::new();
        write_size(&mut line, bytes).unwrap();
        line
    }

    #[test]
    fn the_longest_variable_wins_and_text_stays_as_it_is() {
        let format =
            AccessLogFormat::parse("%lmsms %dmmm/%dmm/%dm %linr %lin 100%% %{user-agent} %{:content-type}").unwrap();
        let pieces = format.0;
        assert_eq!(pieces[0], Piece::Variable(Variable::Elapsed));
        assert_eq!(pieces[1], Piece::Text("ms ".into()));
        assert_eq!(pieces[2], Piece::Variable(Variable::MonthName));
        assert_eq!(pieces[4], Piece::Variable(Variable::MonthAbbreviation));
        assert_eq!(pieces[6], Piece::Variable(Variable::Month));
        assert_eq!(pieces[8], Piece::Variable(Variable::RequestSizeRaw));
        assert_eq!(pieces[10], Piece::Variable(Variable::RequestSize));
        assert_eq!(pieces[11], Piece::Text(" 100% ".into()));
        assert_eq!(pieces[12], Piece::RequestHeader(http::HeaderName::from_static("user-agent")));
        assert_eq!(pieces[14], Piece::ResponseHeader(http::HeaderName::from_static("content-type")));
        assert!(AccessLogFormat::parse(DEFAULT_ACCESS_LOG_FORMAT).is_ok());
    }

    #[test]
    fn a_format_with_a_mistake_is_refused_with_what_is_wrong() {
        for (format, says) in [
            ("%xq", "unknown variable \"%xq\""),
            ("%", "unknown variable \"%\""),
            ("%{user-agent", "without its `}`"),
            ("%{bad header}", "is not a header name"),
        ] {
            let error = AccessLogFormat::parse(format).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidLogConfiguration);
            assert!(error.to_string().contains(says), "{format}: {error}");
        }
    }

    #[test]
    fn sizes_read_as_sisk_writes_them() {
        assert_eq!(sized(689), "689B");
        assert_eq!(sized(1234), "1.2 KB");
        assert_eq!(sized(2560), "2.5 KB");
        assert_eq!(sized(5 * 1024 * 1024), "5.0 MB");
    }
}
