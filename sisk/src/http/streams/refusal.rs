//! Refusing an event stream so that a browser comes back later.
//!
//! An `EventSource` treats any answer but `200 text/event-stream` as final: it fires `error`, sets
//! `readyState` to `CLOSED` and never reconnects (WHATWG HTML, "announce the connection" / "fail the
//! connection"). A stream refused for a while — the server full, a `503` the handler answers — must
//! therefore be refused with a stream: `200`, the event-stream head, a `retry:` of the delay the
//! refusal carries, a comment saying why, and the end. The browser then waits that long and reconnects,
//! as it does after any stream that ends. The refusal keeps its `Retry-After` header for other clients.
//! Refusals that must stop the browser (a bad or taken identifier, the app's `401`/`403`/`404`) stay the
//! 4xx they are.

use std::time::Duration;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, StatusCode};

use crate::http::body::ResponseBody;
use crate::http::streams::Event;
use crate::http::HttpResponse;

/// The answer to an event-stream request refused for `retry_after`: `200` with the event-stream head,
/// `Retry-After` in seconds, and a body of `reason` as a comment and `retry:` in milliseconds, then the
/// end. `headers` (the CORS headers of the request, or the handler's own) are kept, but for the ones this
/// answer sets.
pub(crate) fn retry_later(retry_after: Duration, reason: &str, mut headers: HeaderMap) -> HttpResponse {
    headers.remove(CONTENT_LENGTH);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    // `Retry-After` counts whole seconds; a delay under one is rounded up, never to `0` ("now").
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    let body = Event::new().comment(reason).retry(retry_after).encode();
    HttpResponse::with_body(StatusCode::OK, headers, ResponseBody::full(body))
}

/// The delay a `Retry-After` header gives, when it is a number of seconds (a date is not read).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_an_event_stream_that_says_when_to_come_back_and_ends() {
        let mut headers = HeaderMap::new();
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        let response = retry_later(Duration::from_secs(5), "the server is full", headers);
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.headers[CONTENT_TYPE], "text/event-stream; charset=utf-8");
        assert_eq!(response.headers[CACHE_CONTROL], "no-store, no-cache");
        assert_eq!(response.headers[RETRY_AFTER], "5");
        assert_eq!(response.headers["access-control-allow-origin"], "*", "the request's own headers stay");
        assert!(!response.headers.contains_key(CONTENT_LENGTH), "the old body's length goes with it");
        assert_eq!(response.content(), Some(&b": the server is full\nretry: 5000\n\n"[..]));
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_rounded_up_when_written() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 30 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(retry_after(&headers), None);
        let response = retry_later(Duration::from_millis(1500), "later", HeaderMap::new());
        assert_eq!(response.headers[RETRY_AFTER], "2");
        assert_eq!(retry_later(Duration::ZERO, "now", HeaderMap::new()).headers[RETRY_AFTER], "1");
    }
}
