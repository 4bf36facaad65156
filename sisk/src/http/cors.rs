//! [`CrossOriginResourceSharingHeaders`]: a CORS policy — the server's, a listening host's or one
//! route's — applied to every response (event streams included) and answering preflight requests. It is
//! turned into a `CorsPolicy`, its header values made once, which is what requests are answered with.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

/// A CORS policy, set for the server with
/// [`use_cors`](crate::http::HttpServerHostContextBuilder::use_cors), for one
/// [`ListeningHost`](crate::http::ListeningHost) with its own `use_cors`, or for one route with
/// [`Route::with_cors`](crate::routing::Route::with_cors).
///
/// For a request with an allowed `Origin`, every response carries `Access-Control-Allow-Origin` (and
/// the credentials and exposed-headers fields you set). A preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) gets the allowed methods, headers and max age besides. As in Sisk,
/// an `OPTIONS` request is answered by the path's `OPTIONS` (or `Any`) route when it has one, and
/// otherwise `200` with an `Allow` header when the path exists (`404` when it does not). An origin that
/// is not allowed gets no CORS headers, so the browser refuses.
///
/// Origins are compared without regard to ASCII case, as Sisk compares them. Sisk's two properties,
/// `AllowOrigin` (one value) and `AllowOrigins` (a list the request's origin is looked up in), are one
/// list here, [`allow_origins`](Self::allow_origins): an origin in it is echoed to a request from that
/// origin, with `Vary: Origin`. Two values are special: `"*"` allows any origin (answered `*`, or the
/// request's origin when credentials are allowed, since browsers refuse `*` with credentials), and
/// [`AUTO_ALLOW_ORIGIN`](Self::AUTO_ALLOW_ORIGIN) echoes whatever origin the request names, as Sisk's
/// constant does. [`AUTO_FROM_REQUEST_METHOD`](Self::AUTO_FROM_REQUEST_METHOD) and
/// [`AUTO_FROM_REQUEST_HEADERS`](Self::AUTO_FROM_REQUEST_HEADERS) answer a preflight with what it asks
/// for, which is also what an empty list of methods or headers does.
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
    /// Sisk's `AutoAllowOrigin`: in [`allow_origins`](Self::allow_origins), `Access-Control-Allow-Origin`
    /// is the request's own `Origin`, whatever it is (with `Vary: Origin`). Unlike `"*"`, it works with
    /// [`allow_credentials`](Self::allow_credentials), and it allows every origin: list the origins
    /// instead where only some may read the answers.
    ///
    /// ```
    /// use sisk::http::CrossOriginResourceSharingHeaders;
    ///
    /// let cors = CrossOriginResourceSharingHeaders::new()
    ///     .allow_origin(CrossOriginResourceSharingHeaders::AUTO_ALLOW_ORIGIN)
    ///     .allow_methods([CrossOriginResourceSharingHeaders::AUTO_FROM_REQUEST_METHOD])
    ///     .allow_headers([CrossOriginResourceSharingHeaders::AUTO_FROM_REQUEST_HEADERS])
    ///     .allow_credentials(true);
    /// ```
    pub const AUTO_ALLOW_ORIGIN: &'static str = "<the request's origin>";

    /// Sisk's `AutoFromRequestMethod`: in [`allow_methods`](Self::allow_methods), a preflight is answered
    /// with the method it asks for (`Access-Control-Request-Method`), the other entries left out.
    pub const AUTO_FROM_REQUEST_METHOD: &'static str = "<the requested method>";

    /// Sisk's `AutoFromRequestHeaders`: in [`allow_headers`](Self::allow_headers), a preflight is
    /// answered with the headers it asks for (`Access-Control-Request-Headers`), the other entries left
    /// out.
    pub const AUTO_FROM_REQUEST_HEADERS: &'static str = "<the requested headers>";

    /// A policy that allows nothing until origins are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that allows any origin, method and header, without credentials.
    pub fn allow_all() -> Self {
        Self::new().allow_origin("*")
    }

    /// Adds an allowed origin (`"*"` for any, [`AUTO_ALLOW_ORIGIN`](Self::AUTO_ALLOW_ORIGIN) to echo the
    /// request's).
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
}

/// A [`CrossOriginResourceSharingHeaders`] made ready for serving when the server is built: the
/// constant header values (the lists joined, the max age written out) are made once here, not per
/// request.
#[derive(Debug)]
pub(crate) struct CorsPolicy {
    allow_origins: Vec<String>,
    any_origin: bool,
    /// [`AUTO_ALLOW_ORIGIN`](CrossOriginResourceSharingHeaders::AUTO_ALLOW_ORIGIN) is listed.
    echo_origin: bool,
    allow_credentials: bool,
    allow_methods: Allowed,
    allow_headers: Allowed,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

/// What a preflight answers for the methods or the headers it asks for.
#[derive(Debug)]
enum Allowed {
    /// The policy lists none: what the preflight asks for is allowed.
    Asked,
    /// The policy's list, joined (`None` if it cannot be a header value, and is then left out).
    Listed(Option<HeaderValue>),
}

impl Allowed {
    /// What `list` allows; `auto` is the entry that stands for "what the preflight asks for".
    fn new(list: &[String], auto: &str) -> Self {
        if list.is_empty() || list.iter().any(|entry| entry == auto) {
            Allowed::Asked
        } else {
            Allowed::Listed(joined(list))
        }
    }

    /// The value to answer when the preflight asks for `asked`.
    fn answer(&self, asked: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Allowed::Asked => asked.cloned(),
            Allowed::Listed(value) => value.clone(),
        }
    }
}

/// The items of a list as one header value (`None` for an empty list or one that cannot be a value).
fn joined(list: &[String]) -> Option<HeaderValue> {
    if list.is_empty() {
        return None;
    }
    HeaderValue::try_from(list.join(", ")).ok()
}

impl From<CrossOriginResourceSharingHeaders> for CorsPolicy {
    fn from(policy: CrossOriginResourceSharingHeaders) -> Self {
        type Headers = CrossOriginResourceSharingHeaders;
        CorsPolicy {
            any_origin: policy.allow_origins.iter().any(|o| o == "*"),
            echo_origin: policy.allow_origins.iter().any(|o| o == Headers::AUTO_ALLOW_ORIGIN),
            allow_credentials: policy.allow_credentials,
            allow_methods: Allowed::new(&policy.allow_methods, Headers::AUTO_FROM_REQUEST_METHOD),
            allow_headers: Allowed::new(&policy.allow_headers, Headers::AUTO_FROM_REQUEST_HEADERS),
            expose_headers: joined(&policy.expose_headers),
            max_age: policy.max_age.map(|max_age| HeaderValue::from(max_age.as_secs())),
            allow_origins: policy.allow_origins,
        }
    }
}

impl CorsPolicy {
    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    fn allowed_origin(&self, request_headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = request_headers.get(header::ORIGIN)?;
        if self.any_origin && !self.allow_credentials && !self.echo_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let listed = || {
            let origin = origin.to_str().unwrap_or_default();
            self.allow_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
        };
        (self.any_origin || self.echo_origin || listed()).then(|| origin.clone())
    }

    /// The CORS headers of a request, `None` when it has no `Origin` or one not allowed: for every
    /// request the allowed origin (and the credentials and exposed headers), for a preflight the allowed
    /// methods, headers and max age too.
    pub(crate) fn headers_for(&self, method: &Method, request_headers: &HeaderMap) -> Option<HeaderMap> {
        let origin = self.allowed_origin(request_headers)?;
        let mut headers = HeaderMap::new();
        if origin != "*" {
            headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.allow_credentials {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        insert(&mut headers, header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers.clone());
        let asked_method = match request_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
            Some(asked) if method == Method::OPTIONS => asked,
            _ => return Some(headers),
        };
        insert(&mut headers, header::ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.answer(Some(asked_method)));
        let asked_headers = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        insert(&mut headers, header::ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.answer(asked_headers));
        insert(&mut headers, header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        Some(headers)
    }
}

/// Sets `name` to `value`, when there is one.
fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: Option<HeaderValue>) {
    if let Some(value) = value {
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
        let cors = CorsPolicy::from(CrossOriginResourceSharingHeaders::allow_all());
        let out = cors.headers_for(&Method::GET, &headers(&[("origin", "https://a.example")])).unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(cors.headers_for(&Method::GET, &HeaderMap::new()).is_none(), "no Origin, no CORS headers");
    }

    #[test]
    fn credentials_echo_listed_origins_only() {
        let cors = CorsPolicy::from(
            CrossOriginResourceSharingHeaders::new().allow_origin("https://a.example").allow_credentials(true),
        );
        let out = cors.headers_for(&Method::GET, &headers(&[("origin", "https://a.example")])).unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(out[header::VARY], "Origin");
        assert!(cors.headers_for(&Method::GET, &headers(&[("origin", "https://evil.example")])).is_none());
    }

    #[test]
    fn auto_allow_origin_echoes_any_origin_and_listed_origins_ignore_case() {
        type Headers = CrossOriginResourceSharingHeaders;
        let auto = CorsPolicy::from(Headers::new().allow_origin(Headers::AUTO_ALLOW_ORIGIN));
        let out = auto.headers_for(&Method::GET, &headers(&[("origin", "https://any.example")])).unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://any.example", "echoed, without credentials too");
        assert_eq!(out[header::VARY], "Origin");
        assert!(auto.headers_for(&Method::GET, &HeaderMap::new()).is_none(), "no Origin, nothing to echo");
        let both = CorsPolicy::from(Headers::allow_all().allow_origin(Headers::AUTO_ALLOW_ORIGIN));
        let out = both.headers_for(&Method::GET, &headers(&[("origin", "https://any.example")])).unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://any.example", "the echo wins over `*`");

        let listed = CorsPolicy::from(Headers::new().allow_origin("https://App.Example"));
        let out = listed.headers_for(&Method::GET, &headers(&[("origin", "https://app.example")])).unwrap();
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example", "the request's spelling");
    }

    #[test]
    fn auto_from_request_answers_what_the_preflight_asks_for() {
        type Headers = CrossOriginResourceSharingHeaders;
        let cors = CorsPolicy::from(
            Headers::allow_all()
                .allow_methods(["GET", Headers::AUTO_FROM_REQUEST_METHOD])
                .allow_headers([Headers::AUTO_FROM_REQUEST_HEADERS]),
        );
        let req = headers(&[
            ("origin", "https://a.example"),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "x-token, content-type"),
        ]);
        let preflight = cors.headers_for(&Method::OPTIONS, &req).unwrap();
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_METHODS], "PATCH");
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-token, content-type");
    }

    #[test]
    fn preflight_lists_methods_headers_and_max_age() {
        let cors = CorsPolicy::from(
            CrossOriginResourceSharingHeaders::allow_all()
                .allow_methods(["GET", "POST"])
                .expose_headers(["X-Total-Count", "X-Page"])
                .max_age(Duration::from_secs(60)),
        );
        let req = headers(&[
            ("origin", "https://a.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-token"),
        ]);
        let preflight = cors.headers_for(&Method::OPTIONS, &req).unwrap();
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        assert_eq!(preflight[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-token");
        assert_eq!(preflight[header::ACCESS_CONTROL_MAX_AGE], "60");
        let ordinary = cors.headers_for(&Method::GET, &req).unwrap();
        assert!(ordinary.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(ordinary[header::ACCESS_CONTROL_EXPOSE_HEADERS], "X-Total-Count, X-Page");
        assert!(!ordinary.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS), "only a preflight gets these");
    }
}
