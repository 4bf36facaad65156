//! [`RouteMethod`]: the HTTP method a route answers, with `Any` for every method, as in Sisk.

use std::fmt;

/// The HTTP method a [`Route`](crate::routing::Route) answers.
///
/// `Any` answers every method; a route with a specific method on the same path takes priority over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteMethod {
    /// `GET` (also answers `HEAD` when the path has no `HEAD` route; the body is left out).
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// `HEAD`.
    Head,
    /// `OPTIONS`.
    Options,
    /// Every method.
    Any,
}

impl RouteMethod {
    /// The method for an HTTP method, or `None` for methods sisk does not route (such as `TRACE`).
    pub fn from_http(method: &http::Method) -> Option<Self> {
        Some(match *method {
            http::Method::GET => RouteMethod::Get,
            http::Method::POST => RouteMethod::Post,
            http::Method::PUT => RouteMethod::Put,
            http::Method::PATCH => RouteMethod::Patch,
            http::Method::DELETE => RouteMethod::Delete,
            http::Method::HEAD => RouteMethod::Head,
            http::Method::OPTIONS => RouteMethod::Options,
            _ => return None,
        })
    }

    /// The method's name as it appears on the wire (`"*"` for `Any`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RouteMethod::Get => "GET",
            RouteMethod::Post => "POST",
            RouteMethod::Put => "PUT",
            RouteMethod::Patch => "PATCH",
            RouteMethod::Delete => "DELETE",
            RouteMethod::Head => "HEAD",
            RouteMethod::Options => "OPTIONS",
            RouteMethod::Any => "*",
        }
    }
}

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
