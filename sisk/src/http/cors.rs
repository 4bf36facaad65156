//! [`CrossOriginResourceSharingHeaders`]: the server's CORS policy, applied to every response (event
//! streams included) and answering preflight requests.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

/// A CORS policy, set with [`use_cors`](crate::http::HttpServerHostContextBuilder::use_cors).
///
/// For a request with an allowed `Origin`, every response carries `Access-Control-Allow-Origin` (and
/// the credentials and exposed-headers fields you set). A preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) gets the allowed methods, headers and max age besides. As in Sisk,
/// an `OPTIONS` request is answered by the path's `OPTIONS` (or `Any`) route when it has one, and
/// otherwise `200` with an `Allow` header when the path exists (`404` when it does not). An origin that
/// is not allowed gets no CORS headers, so the browser refuses.
///
/// ```
/// use std::time::Duration;
/// use sisk::http::CrossOriginResourceSharingHeaders;
///
/// let cors = CrossOriginResourceSharingHeaders::new()
///     .allow_origin("https://app.example")
///     .allow_methods(["GET", "POST"])
///     .allow_headers(["Content-Type", "Authorization"])
///     .expose_headers(["X-Total-Count"])
///     .allow_credentials(true)
///     .max_age(Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossOriginResourceSharingHeaders {
    /// Allowed origins; `"*"` allows any.
    pub allow_origins: Vec<String>,
    /// Methods a preflight allows (default: the request's own).
    pub allow_methods: Vec<String>,
    /// Request headers a preflight allows (default: the ones the preflight asks for).
    pub allow_headers: Vec<String>,
    /// Response headers the browser lets scripts read.
    pub expose_headers: Vec<String>,
    /// Whether cookies and credentials may be sent; the origin is then echoed instead of `*`.
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer.
    pub max_age: Option<Duration>,
}

impl CrossOriginResourceSharingHeaders {
    /// A policy that allows nothing until origins are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that allows any origin, method and header, without credentials.
    pub fn allow_all() -> Self {
        Self::new().allow_origin("*")
    }

    /// Adds an allowed origin (`"*"` for any).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allow_origins.push(origin.into());
        self
    }

    /// Sets the methods a preflight allows.
    pub fn allow_methods<I: IntoIterator<Item = S>, S: Into<String>>(mut self, methods: I) -> Self {
        self.allow_methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the request headers a preflight allows.
    pub fn allow_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, headers: I) -> Self {
        self.allow_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the response headers scripts may read.
    pub fn expose_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, headers: I) -> Self {
        self.expose_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Allows credentials.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.allow_credentials = allow;
        self
    }

    /// Sets how long a preflight answer may be cached.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    fn allowed_origin(&self, request_headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = request_headers.get(header::ORIGIN)?;
        let any = self.allow_origins.iter().any(|o| o == "*");
        if any && !self.allow_credentials {
            return Some(HeaderValue::from_static("*"));
        }
        let listed = origin.to_str().is_ok_and(|o| self.allow_origins.iter().any(|allowed| allowed == o));
        (any || listed).then(|| origin.clone())
    }

    /// The CORS headers for an ordinary (non-preflight) request; empty when the origin is not allowed.
    pub(crate) fn response_headers(&self, request_headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        let Some(origin) = self.allowed_origin(request_headers) else {
            return out;
        };
        if origin != "*" {
            out.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.allow_credentials {
            out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        insert_list(&mut out, header::ACCESS_CONTROL_EXPOSE_HEADERS, &self.expose_headers);
        out
    }

    /// The CORS headers of a request: for a preflight, the allowed methods, headers and max age too.
    pub(crate) fn headers_for(&self, method: &Method, request_headers: &HeaderMap) -> HeaderMap {
        let mut headers = self.response_headers(request_headers);
        let asked_method = match request_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
            Some(asked) if method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) => {
                asked
            }
            _ => return headers,
        };
        let headers = &mut headers;
        if self.allow_methods.is_empty() {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, asked_method.clone());
        } else {
            insert_list(headers, header::ACCESS_CONTROL_ALLOW_METHODS, &self.allow_methods);
        }
        match request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            Some(asked) if self.allow_headers.is_empty() => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
            _ => insert_list(headers, header::ACCESS_CONTROL_ALLOW_HEADERS, &self.allow_headers),
        }
        if let Some(max_age) = self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age.as_secs()));
        }
        std::mem::take(headers)
    }
}

fn insert_list(headers: &mut HeaderMap, name: header::HeaderName, values: &[String]) {
    if values.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::try_from(values.join(", ")) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn any_origin_without_credentials_is_star() {
        let cors = CrossOriginResourceSharingHeaders::allow_all();
        let out = cors.response_headers(&headers(&[("origin", "https://a.example")]));
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(cors.response_headers(&HeaderMap::new()).is_empty(), "no Origin, no CORS headers");
    }

    #[test]
    fn credentials_echo_listed_origins_only() {
        let cors = CrossOriginResourceSharingHeaders::new().allow_origin("https://a.example").allow_credentials(true);
        let out = cors.response_headers(&headers(&[("origin", "https://a.example")]));
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(out[header::VARY], "Origin");
        assert!(cors.response_headers(&headers(&[("origin", "https://evil.example")])).is_empty());
    }

    #[test]
    fn preflight_lists_methods_headers_and_max_age() {
        let cors = CrossOriginResourceSharingHeaders::allow_all()
            .allow_methods(["GET", "POST"])
            .max_age(Duration::from_secs(60));
        let req = headers(&[
            ("origin", "https://a.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-token"),
        ]);
        let preflight = cors.headers_for(&Method::OPTIONS, &req);
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-token");
        assert_eq!(preflight[header::ACCESS_CONTROL_MAX_AGE], "60");
        let ordinary = cors.headers_for(&Method::GET, &req);
        assert!(ordinary.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!ordinary.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS), "only a preflight gets these");
    }
}
