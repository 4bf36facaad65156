//! Validators of a file and the conditional requests that use them (RFC 9110 §13): `ETag` (from size
//! and modification time) and `Last-Modified`; `If-Match` and `If-Unmodified-Since` answer `412` when
//! the file changed; `If-None-Match` and `If-Modified-Since` answer `304`; `If-Range` decides whether a
//! `Range` is honoured.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    HeaderMap, HeaderValue, ETAG, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    LAST_MODIFIED,
};

/// What identifies one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validators {
    /// A strong entity tag, `"<size>-<mtime>"` in hex; the modification time to the nanosecond where
    /// the file system keeps it.
    etag: String,
    /// The modification time to the second (what an HTTP date holds); `None` when unknown.
    last_modified: Option<SystemTime>,
}

impl Validators {
    pub(crate) fn new(size: u64, modified: Option<SystemTime>) -> Self {
        let since_epoch = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok());
        let etag = match since_epoch {
            Some(t) => format!("\"{size:x}-{:x}\"", t.as_nanos()),
            None => format!("\"{size:x}\""),
        };
        let last_modified = since_epoch.map(|t| UNIX_EPOCH + Duration::from_secs(t.as_secs()));
        Validators { etag, last_modified }
    }

    /// Adds `ETag` and `Last-Modified` to a response's headers.
    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(ETAG, etag);
        }
        if let Some(modified) = self.last_modified {
            if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
                headers.insert(LAST_MODIFIED, date);
            }
        }
    }

    /// True when the client asked for a version the file no longer is, so the answer is `412
    /// Precondition Failed` (RFC 9110 §13.2.2, evaluated first): `If-Match` names no tag of this version
    /// (strong comparison) and is not `*`; without `If-Match`, the file changed after `If-Unmodified-Since`.
    pub(crate) fn precondition_failed(&self, request: &HeaderMap) -> bool {
        let mut tags = request.get_all(IF_MATCH).iter().filter_map(|v| v.to_str().ok()).peekable();
        if tags.peek().is_some() {
            return !tags.flat_map(|v| v.split(',')).map(str::trim).any(|tag| tag == "*" || tag == self.etag);
        }
        match (self.last_modified, http_date(request.get(IF_UNMODIFIED_SINCE))) {
            (Some(modified), Some(since)) => modified > since,
            _ => false,
        }
    }

    /// True when the client's copy is current, so the answer is `304 Not Modified`: `If-None-Match`
    /// names this tag (weak comparison) or is `*`; without `If-None-Match`, `If-Modified-Since` is not
    /// older than the file.
    pub(crate) fn not_modified(&self, request: &HeaderMap) -> bool {
        let mut tags = request.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).peekable();
        if tags.peek().is_some() {
            let own = opaque(&self.etag);
            return tags.flat_map(|v| v.split(',')).map(str::trim).any(|tag| tag == "*" || opaque(tag) == own);
        }
        match (self.last_modified, http_date(request.get(IF_MODIFIED_SINCE))) {
            (Some(modified), Some(since)) => modified <= since,
            _ => false,
        }
    }

    /// True when a `Range` may be honoured: there is no `If-Range`, or it names this version (the same
    /// strong tag, or exactly this modification date). Otherwise the whole file is sent.
    pub(crate) fn range_applies(&self, request: &HeaderMap) -> bool {
        let Some(value) = request.get(IF_RANGE) else {
            return true;
        };
        let Ok(text) = value.to_str() else {
            return false;
        };
        let text = text.trim();
        if text.starts_with('"') || text.starts_with("W/") {
            return text == self.etag;
        }
        self.last_modified.is_some() && http_date(Some(value)) == self.last_modified
    }
}

/// An entity tag without its weakness mark, for weak comparison.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

fn http_date(value: Option<&HeaderValue>) -> Option<SystemTime> {
    httpdate::parse_http_date(value?.to_str().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap())).collect()
    }

    fn file() -> (Validators, String, String) {
        let modified = UNIX_EPOCH + Duration::new(1_700_000_000, 123);
        let validators = Validators::new(42, Some(modified));
        let mut written = HeaderMap::new();
        validators.write(&mut written);
        let etag = written[ETAG].to_str().unwrap().to_owned();
        let date = written[LAST_MODIFIED].to_str().unwrap().to_owned();
        (validators, etag, date)
    }

    #[test]
    fn validators_are_written() {
        let (_, etag, date) = file();
        assert_eq!(etag, format!("\"2a-{:x}\"", 1_700_000_000_000_000_123u128));
        assert_eq!(date, "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let (v, etag, date) = file();
        assert!(v.not_modified(&headers(&[("if-none-match", &etag)])));
        assert!(v.not_modified(&headers(&[("if-none-match", &format!("\"x\", W/{etag}"))])));
        assert!(v.not_modified(&headers(&[("if-none-match", "*")])));
        assert!(!v.not_modified(&headers(&[("if-none-match", "\"other\""), ("if-modified-since", &date)])));
        assert!(v.not_modified(&headers(&[("if-modified-since", &date)])));
        assert!(!v.not_modified(&headers(&[("if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT")])));
        assert!(!v.not_modified(&headers(&[("if-modified-since", "yesterday")])));
        assert!(!v.not_modified(&HeaderMap::new()));
    }

    #[test]
    fn if_match_and_if_unmodified_since_fail_for_another_version() {
        let (v, etag, date) = file();
        assert!(!v.precondition_failed(&HeaderMap::new()));
        assert!(!v.precondition_failed(&headers(&[("if-match", &etag)])));
        assert!(!v.precondition_failed(&headers(&[("if-match", &format!("\"x\", {etag}"))])));
        assert!(!v.precondition_failed(&headers(&[("if-match", "*")])));
        assert!(v.precondition_failed(&headers(&[("if-match", "\"old\"")])));
        assert!(v.precondition_failed(&headers(&[("if-match", &format!("W/{etag}"))])), "strong comparison");
        assert!(!v.precondition_failed(&headers(&[("if-unmodified-since", &date)])));
        assert!(v.precondition_failed(&headers(&[("if-unmodified-since", "Tue, 14 Nov 2023 22:13:19 GMT")])));
        assert!(
            !v.precondition_failed(&headers(&[
                ("if-match", &etag),
                ("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT")
            ])),
            "If-Match wins"
        );
    }

    #[test]
    fn if_range_needs_the_same_version() {
        let (v, etag, date) = file();
        assert!(v.range_applies(&HeaderMap::new()));
        assert!(v.range_applies(&headers(&[("if-range", &etag)])));
        assert!(!v.range_applies(&headers(&[("if-range", &format!("W/{etag}"))])), "weak tags never match");
        assert!(!v.range_applies(&headers(&[("if-range", "\"old\"")])));
        assert!(v.range_applies(&headers(&[("if-range", &date)])));
        assert!(!v.range_applies(&headers(&[("if-range", "Tue, 14 Nov 2023 22:13:19 GMT")])));
    }
}
