//! [`ListeningPort`]: where a server listens, written as Sisk writes it (`http://localhost:5000/`, or
//! `https://localhost:5001/` for TLS).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::Error;

/// A host and port to listen on. `localhost` listens on 127.0.0.1; `*`, `+` and `0.0.0.0` on every
/// interface; port `0` lets the system choose (read it back with
/// [`HttpServer::local_addr`](crate::http::HttpServer::local_addr)).
///
/// An `https://` port is [secure](ListeningPort::is_secure): it is served over TLS with the certificate
/// given to the builder's `use_ssl` (the `tls` feature).
///
/// ```
/// use sisk::http::ListeningPort;
///
/// let port = ListeningPort::parse("http://localhost:5000/").unwrap();
/// assert_eq!((port.host(), port.port(), port.is_secure()), ("localhost", 5000, false));
/// let port = ListeningPort::parse("https://localhost/").unwrap();
/// assert_eq!((port.port(), port.is_secure()), (443, true));
/// assert_eq!(ListeningPort::parse("ftp://localhost:21/").unwrap_err().kind(), sisk::ErrorKind::InvalidListeningPort);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListeningPort {
    secure: bool,
    host: String,
    port: u16,
}

impl ListeningPort {
    /// A plain-text (`http://`) port on a host.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        ListeningPort { secure: false, host: host.into(), port }
    }

    /// A TLS (`https://`) port on a host.
    pub fn new_secure(host: impl Into<String>, port: u16) -> Self {
        ListeningPort { secure: true, host: host.into(), port }
    }

    /// Parses `http://host:port/` or `https://host:port/` (the path, if any, must be `/`; without a port,
    /// 80 or 443).
    pub fn parse(url: &str) -> Result<Self, Error> {
        let (secure, rest) = match url.split_once("://") {
            Some(("http", rest)) => (false, rest),
            Some(("https", rest)) => (true, rest),
            _ => return Err(Error::invalid_listening_port(format!("`{url}` does not start with http:// or https://"))),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('/') {
            return Err(Error::invalid_listening_port(format!("`{url}` has a path; only `/` is supported")));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse()
                    .map_err(|_| Error::invalid_listening_port(format!("`{port}` in `{url}` is not a port number")))?;
                (host, port)
            }
            _ => (authority, if secure { 443 } else { 80 }),
        };
        // Checked without the brackets of an IPv6 literal: `http://[]:5/` has no host either.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(Error::invalid_listening_port(format!("`{url}` has no host")));
        }
        Ok(ListeningPort { secure, host: host.to_owned(), port })
    }

    /// True for an `https://` port, served over TLS (Sisk's `ListeningPort.Secure`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// `https` or `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket address to bind.
    pub(crate) fn socket_addr(&self) -> Result<SocketAddr, Error> {
        let host = match self.host.as_str() {
            "localhost" => "127.0.0.1",
            "*" | "+" => "0.0.0.0",
            host => host,
        };
        (host, self.port)
            .to_socket_addrs()
            .map_err(|e| Error::io(&format!("cannot resolve listening host `{}`", self.host), e))?
            .next()
            .ok_or_else(|| Error::invalid_listening_port(format!("`{}` resolves to no address", self.host)))
    }
}

impl fmt::Display for ListeningPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}/", self.scheme(), self.host, self.port)
    }
}

/// Anything [`use_listening_port`](crate::http::HttpServerHostContextBuilder::use_listening_port) accepts:
/// a URL (`"http://localhost:5000/"`), a port number (listening on localhost) or a [`ListeningPort`].
pub trait IntoListeningPort {
    /// Converts, or says why the value is not a listening port.
    fn into_listening_port(self) -> Result<ListeningPort, Error>;
}

impl IntoListeningPort for ListeningPort {
    fn into_listening_port(self) -> Result<ListeningPort, Error> {
        Ok(self)
    }
}

impl IntoListeningPort for &str {
    fn into_listening_port(self) -> Result<ListeningPort, Error> {
        ListeningPort::parse(self)
    }
}

impl IntoListeningPort for String {
    fn into_listening_port(self) -> Result<ListeningPort, Error> {
        ListeningPort::parse(&self)
    }
}

impl IntoListeningPort for u16 {
    fn into_listening_port(self) -> Result<ListeningPort, Error> {
        Ok(ListeningPort::new("localhost", self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_table() {
        let ok = [
            ("http://localhost:5000/", "localhost", 5000),
            ("http://127.0.0.1:0", "127.0.0.1", 0),
            ("http://example.test/", "example.test", 80),
            ("http://[::1]:8080/", "::1", 8080),
            ("http://*:81/", "*", 81),
            ("https://localhost:5001/", "localhost", 5001),
            ("https://example.test", "example.test", 443),
        ];
        for (url, host, port) in ok {
            let p = ListeningPort::parse(url).unwrap();
            assert_eq!((p.host(), p.port(), p.is_secure()), (host, port, url.starts_with("https")), "{url}");
        }
        for bad in
            ["localhost:5000", "http://:5000/", "http://[]:5000/", "http://h:99999/", "http://h:1/api/", "ftp://h/"]
        {
            assert_eq!(ListeningPort::parse(bad).unwrap_err().kind(), crate::ErrorKind::InvalidListeningPort, "{bad}");
        }
    }
}

/// Property tests: any text is a listening port or an error, never a panic; what is accepted prints as
/// a URL that parses back to the same port.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Text shaped like the URLs people write, often nearly right.
    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![4 => "http://", 1 => "https://|HTTP://|http:/|[a-z]{0,5}://|"];
        let host = "localhost|127\\.0\\.0\\.1|\\*|\\[::1\\]|\\[\\]|::1|[\\[\\]:a-z0-9.+*]{0,8}";
        let port = prop_oneof![3 => ":[0-9]{1,5}", 1 => "|:|:-1|:\\+5|:[0-9]{6}|:[a-z]{1,3}"];
        let tail = prop_oneof![3 => "/?", 1 => "//|/api|/\\?x"];
        (scheme, host, port, tail).prop_map(|(scheme, host, port, tail)| format!("{scheme}{host}{port}{tail}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_a_port_or_an_error(url in prop_oneof![url_like(), any::<String>()]) {
            match ListeningPort::parse(&url) {
                Ok(port) => {
                    prop_assert!(!port.host().is_empty(), "{url:?} gave an empty host");
                    prop_assert_eq!(ListeningPort::parse(&port.to_string()), Ok(port));
                }
                Err(err) => prop_assert!(err.kind() == crate::ErrorKind::InvalidListeningPort, "{url:?}: {err}"),
            }
        }
    }
}
