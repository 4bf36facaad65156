//! Which router answers a request of a listener: the one router of its only host, or, where several
//! listening hosts share the listener's address, the router of the host the request's `Host` names.
//! A listener with one host (every server without extra listening hosts) never reads `Host`.

use std::sync::Arc;

use http::request::Parts;
use http::StatusCode;

use crate::http::HttpResponse;
use crate::routing::Router;

/// The routers of one listener.
#[derive(Debug)]
pub(crate) enum HostRouting {
    /// One host: its router answers everything.
    Only(Arc<Router>),
    /// Several hosts on one address, picked by name (exact names first, then a host on a wildcard).
    ByName(Vec<(HostName, Arc<Router>)>),
}

/// What a port's host matches in a request's `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostName {
    /// A port on `*`, `+`, `0.0.0.0` or `::` (or a listener handed over): any name no other host has.
    Any,
    /// A name or an address, lower case, an IPv6 address without its brackets.
    Exact(String),
}

impl HostName {
    /// The name a port's host stands for.
    pub(crate) fn of(host: &str) -> Self {
        match host {
            "*" | "+" | "0.0.0.0" | "::" => HostName::Any,
            host => HostName::Exact(host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()),
        }
    }
}

/// A request whose `Host` names no host of its listener.
#[derive(Debug)]
pub(crate) struct UnknownHost(String);

impl UnknownHost {
    /// Sisk's answer: `400 Bad Request`.
    pub(crate) fn answer(&self) -> HttpResponse {
        HttpResponse::from_status(StatusCode::BAD_REQUEST)
            .with_content(format!("no host of this server is named `{}`", self.0))
    }
}

impl HostRouting {
    /// The router for a request, or why there is none.
    pub(crate) fn pick(&self, parts: &Parts) -> Result<&Router, UnknownHost> {
        let hosts = match self {
            HostRouting::Only(router) => return Ok(router),
            HostRouting::ByName(hosts) => hosts,
        };
        let name = requested_host(parts).unwrap_or_default();
        let exact = hosts.iter().find(|(host, _)| matches!(host, HostName::Exact(n) if n.eq_ignore_ascii_case(name)));
        match exact.or_else(|| hosts.iter().find(|(host, _)| *host == HostName::Any)) {
            Some((_, router)) => Ok(router),
            None => Err(UnknownHost(name.to_owned())),
        }
    }
}

/// The host a request names, without port or IPv6 brackets: the HTTP/2 `:authority` (or an
/// absolute-form target), else the `Host` header.
fn requested_host(parts: &Parts) -> Option<&str> {
    let authority = match parts.uri.authority() {
        Some(authority) => authority.as_str(),
        None => parts.headers.get(http::header::HOST)?.to_str().ok()?,
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map(|(address, _)| address);
    }
    Some(authority.split_once(':').map_or(authority, |(host, _)| host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: &str) -> Parts {
        http::Request::get("/").header("host", host).body(()).unwrap().into_parts().0
    }

    #[test]
    fn picks_by_name_then_wildcard_else_400() {
        let (a, b) = (Arc::new(Router::new()), Arc::new(Router::new()));
        let exact_only = HostRouting::ByName(vec![(HostName::of("LocalHost"), a.clone()), (HostName::of("[::1]"), b)]);
        assert!(std::ptr::eq(exact_only.pick(&parts("localhost:8080")).unwrap(), &*a));
        assert!(exact_only.pick(&parts("[::1]:8080")).is_ok());
        assert_eq!(exact_only.pick(&parts("other.test")).unwrap_err().answer().status, StatusCode::BAD_REQUEST);
        assert!(exact_only.pick(&http::Request::get("/").body(()).unwrap().into_parts().0).is_err(), "no Host");

        let catch_all = Arc::new(Router::new());
        let with_any =
            HostRouting::ByName(vec![(HostName::of("*"), catch_all.clone()), (HostName::of("api.test"), a.clone())]);
        assert!(std::ptr::eq(with_any.pick(&parts("API.test")).unwrap(), &*a), "an exact name before the wildcard");
        assert!(std::ptr::eq(with_any.pick(&parts("other.test")).unwrap(), &*catch_all));
    }
}
