//! [`ForwardingResolver`]: behind a reverse proxy, a load balancer or a CDN, the client's address, the
//! scheme and the host it asked for come in headers (`Forwarded`, `X-Forwarded-For`, `-Proto`, `-Host`)
//! rather than from the connection. They are believed only when the connection comes from a proxy the
//! server was told to trust: anyone else could write them.
//!
//! The resolution runs once, when the request is made, before request handlers: `remote_address()`,
//! `is_secure()`, `host()`, `authority()` and `full_url()` then give the resolved values everywhere.

use std::net::{IpAddr, SocketAddr};

use http::uri::Authority;
use http::HeaderMap;
use ipnet::IpNet;

use crate::Error;

/// Resolves the client's address, the scheme and the host of requests that come through trusted proxies
/// (Sisk's `ForwardingResolver`). Off unless set in the configuration; then only a connection from one of
/// the trusted addresses or networks has its forwarding headers read, and from anyone else they are
/// ignored.
///
/// - The client's address is the rightmost address of the chain (`Forwarded: for=…` elements, or else
///   `X-Forwarded-For`) that is not itself a trusted proxy: the first hop a trusted proxy saw and no
///   trusted proxy vouches for. Addresses to its left were written by the client and are not believed.
///   A chain with an element that is not an IP address (`unknown`, an obfuscated name, garbage) is
///   ignored as a whole.
/// - The scheme (`is_secure()`) comes from `proto=` of that element, or else from the rightmost
///   `X-Forwarded-Proto` value (`http` or `https`; anything else is ignored).
/// - The host (`host()`, `authority()`, `full_url()`) comes from `host=` of that element, or else from the
///   rightmost `X-Forwarded-Host` value, when it is a valid authority.
///
/// `Forwarded` (RFC 7239) wins when it is present and well formed; a malformed header is ignored, never an
/// error.
///
/// ```
/// use sisk::prelude::*;
/// use sisk::http::ForwardingResolver;
///
/// let resolver = ForwardingResolver::trusting(["10.0.0.0/8", "127.0.0.1"]).unwrap();
/// assert!(resolver.is_trusted("10.1.2.3".parse().unwrap()));
/// assert!(!resolver.is_trusted("192.0.2.1".parse().unwrap()));
/// let wrong = ForwardingResolver::trusting(["10.0.0.0/33"]).unwrap_err();
/// assert_eq!(wrong.kind(), sisk::ErrorKind::InvalidTrustedProxy);
///
/// let app = HttpServer::create_builder()
///     .use_listening_port("http://127.0.0.1:0/")
///     .use_forwarding_resolver(resolver)
///     .build()
///     .unwrap();
/// assert!(app.server().configuration().forwarding_resolver.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardingResolver {
    trusted: Vec<IpNet>,
}

/// What a resolver found in the headers of a request from a trusted proxy.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Forwarded {
    pub(crate) client: Option<SocketAddr>,
    pub(crate) secure: Option<bool>,
    pub(crate) host: Option<Authority>,
}

/// One hop of a `Forwarded` header.
#[derive(Debug, Default)]
struct Element {
    for_: Option<SocketAddr>,
    proto: Option<bool>,
    host: Option<Authority>,
}

impl ForwardingResolver {
    /// A resolver that trusts these proxies: IP addresses (`"10.0.0.1"`, `"::1"`) or networks in CIDR
    /// notation (`"10.0.0.0/8"`, `"fd00::/8"`). An entry that is neither is an error.
    pub fn trusting<I, S>(proxies: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let trusted = proxies
            .into_iter()
            .map(|proxy| {
                let text = proxy.as_ref().trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| Error::invalid_trusted_proxy(text))
            })
            .collect::<Result<_, _>>()?;
        Ok(ForwardingResolver { trusted })
    }

    /// True when `address` is one of the trusted proxies or in one of their networks. An IPv4 address
    /// seen as IPv6 (`::ffff:10.0.0.1`, on a dual-stack socket) counts as the IPv4 address.
    pub fn is_trusted(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.trusted.iter().any(|network| network.contains(&address))
    }

    /// What the headers of a request from `peer` say, if `peer` is trusted; `None` otherwise.
    pub(crate) fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> Option<Forwarded> {
        if !self.is_trusted(peer.ip()) {
            return None;
        }
        if let Some(elements) = forwarded_elements(headers) {
            return Some(self.resolve_elements(&elements));
        }
        let chain: Option<Vec<SocketAddr>> = list(headers, "x-forwarded-for").map(parse_address).collect();
        let client = chain.and_then(|chain| self.client_index(&chain).map(|at| chain[at]));
        let secure = list(headers, "x-forwarded-proto").last().and_then(parse_proto);
        let host = list(headers, "x-forwarded-host").last().and_then(parse_host);
        Some(Forwarded { client, secure, host })
    }

    /// The client's hop among the elements of a `Forwarded` header, and what it says.
    fn resolve_elements(&self, elements: &[Element]) -> Forwarded {
        let chain: Option<Vec<SocketAddr>> = elements.iter().map(|element| element.for_).collect();
        let at = chain.as_deref().and_then(|chain| self.client_index(chain));
        // Without a usable chain, the hop the nearest proxy wrote still tells the scheme and the host.
        let element = at.and_then(|at| elements.get(at)).or(elements.last());
        Forwarded {
            client: at.and_then(|at| elements[at].for_),
            secure: element.and_then(|e| e.proto),
            host: element.and_then(|e| e.host.clone()),
        }
    }

    /// The index of the rightmost address not trusted, or of the leftmost when all are.
    fn client_index(&self, chain: &[SocketAddr]) -> Option<usize> {
        if chain.is_empty() {
            return None;
        }
        Some(chain.iter().rposition(|hop| !self.is_trusted(hop.ip())).unwrap_or(0))
    }
}

/// The comma-separated values of every `name` header, trimmed, in order (values that are not text are
/// skipped).
fn list<'a>(headers: &'a HeaderMap, name: &'static str) -> impl DoubleEndedIterator<Item = &'a str> + 'a {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).collect();
    values.into_iter().flat_map(|value| value.split(',')).map(str::trim).filter(|item| !item.is_empty())
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`
/// (the port is 0 when absent).
fn parse_address(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 0));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Some(address);
    }
    let ip = text.strip_prefix('[')?.strip_suffix(']')?.parse::<IpAddr>().ok()?;
    Some(SocketAddr::new(ip, 0))
}

fn parse_proto(text: &str) -> Option<bool> {
    match text {
        _ if text.eq_ignore_ascii_case("https") => Some(true),
        _ if text.eq_ignore_ascii_case("http") => Some(false),
        _ => None,
    }
}

fn parse_host(text: &str) -> Option<Authority> {
    // An authority with user information (`user@host`) is no host a client asked for.
    if text.contains('@') {
        return None;
    }
    text.parse().ok()
}

/// The elements of every `Forwarded` header, in order; `None` when there is none or one is malformed.
fn forwarded_elements(headers: &HeaderMap) -> Option<Vec<Element>> {
    let mut elements = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        let mut rest = value.to_str().ok()?;
        loop {
            let (element, after) = parse_element(rest)?;
            elements.push(element);
            match after.trim_start().strip_prefix(',') {
                Some(next) => rest = next,
                None if after.trim().is_empty() => break,
                None => return None,
            }
        }
    }
    (!elements.is_empty()).then_some(elements)
}

/// One element (`for=…;proto=…;host=…`) and what follows it.
fn parse_element(mut rest: &str) -> Option<(Element, &str)> {
    let mut element = Element::default();
    loop {
        rest = rest.trim_start();
        let equals = rest.find('=')?;
        let name = rest[..equals].trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return None;
        }
        let (value, after) = parse_value(&rest[equals + 1..])?;
        if name.eq_ignore_ascii_case("for") {
            element.for_ = parse_address(&value);
        } else if name.eq_ignore_ascii_case("proto") {
            element.proto = parse_proto(&value);
        } else if name.eq_ignore_ascii_case("host") {
            element.host = parse_host(&value);
        }
        let after = after.trim_start();
        match after.strip_prefix(';') {
            Some(next) => rest = next,
            None => return Some((element, after)),
        }
    }
}

/// A token or a quoted string (with `\` escapes), and what follows it.
fn parse_value(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.bytes().position(|b| !is_token_byte(b)).unwrap_or(text.len());
        return (end > 0).then(|| (text[..end].to_owned(), &text[end..]));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &quoted[at + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// A character of an RFC 9110 token.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn resolver() -> ForwardingResolver {
        ForwardingResolver::trusting(["10.0.0.0/8", "::1"]).unwrap()
    }

    fn proxy() -> SocketAddr {
        "10.0.0.2:5000".parse().unwrap()
    }

    /// Header names and values, as a table row gives them.
    type Pairs = &'static [(&'static str, &'static str)];

    fn client(pairs: &[(&'static str, &'static str)]) -> Option<String> {
        resolver().resolve(proxy(), &headers(pairs)).and_then(|f| f.client).map(|c| c.to_string())
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_address() {
        let table: &[(Pairs, Option<&str>)] = &[
            (&[("x-forwarded-for", "203.0.113.7")], Some("203.0.113.7:0")),
            (&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.9")], Some("203.0.113.7:0")),
            (&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "10.0.0.9")], Some("1.1.1.1:0")),
            (&[("x-forwarded-for", "10.0.0.3, 10.0.0.9")], Some("10.0.0.3:0")),
            (&[("x-forwarded-for", "[2001:db8::1]:4711")], Some("[2001:db8::1]:4711")),
            (&[("x-forwarded-for", "not-an-ip, 203.0.113.7")], None),
            (&[("x-forwarded-for", "")], None),
            (&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")], Some("192.0.2.60:0")),
            (&[("forwarded", r#"for="[2001:db8:cafe::17]:4711", for=10.0.0.5"#)], Some("[2001:db8:cafe::17]:4711")),
            (&[("forwarded", "For=192.0.2.43, for=198.51.100.17")], Some("198.51.100.17:0")),
            (&[("forwarded", "for=unknown")], None),
            (&[("forwarded", "for=_hidden, for=10.0.0.1")], None),
        ];
        for (pairs, expected) in table {
            assert_eq!(client(pairs).as_deref(), *expected, "{pairs:?}");
        }
    }

    #[test]
    fn forwarded_wins_and_a_malformed_one_gives_way() {
        let both = [("forwarded", "for=192.0.2.1;proto=https"), ("x-forwarded-for", "198.51.100.1")];
        assert_eq!(client(&both).as_deref(), Some("192.0.2.1:0"));
        for broken in ["for=\"192.0.2.1", "for=192.0.2.1 junk", "=x", "for", "for=1.2.3.4,,"] {
            let pairs = [("forwarded", broken), ("x-forwarded-for", "198.51.100.1")];
            assert_eq!(client(&pairs).as_deref(), Some("198.51.100.1:0"), "{broken:?}");
        }
    }

    #[test]
    fn scheme_and_host_come_from_the_clients_hop() {
        let resolved = resolver()
            .resolve(
                proxy(),
                &headers(&[(
                    "forwarded",
                    r#"for=192.0.2.1;proto=https;host="shop.example:8443", for=10.0.0.4;proto=http"#,
                )]),
            )
            .unwrap();
        assert_eq!(resolved.secure, Some(true));
        assert_eq!(resolved.host.unwrap().as_str(), "shop.example:8443");

        let resolved = resolver()
            .resolve(
                proxy(),
                &headers(&[
                    ("x-forwarded-proto", "http, HTTPS"),
                    ("x-forwarded-host", "evil.example, shop.example"),
                    ("x-forwarded-for", "192.0.2.1"),
                ]),
            )
            .unwrap();
        assert_eq!((resolved.secure, resolved.host.unwrap().as_str()), (Some(true), "shop.example"));

        let ignored = resolver()
            .resolve(proxy(), &headers(&[("x-forwarded-proto", "gopher"), ("x-forwarded-host", "a@b")]))
            .unwrap();
        assert_eq!(ignored, Forwarded::default());
    }

    #[test]
    fn an_untrusted_peer_is_not_believed() {
        let pairs = [("x-forwarded-for", "203.0.113.7"), ("x-forwarded-proto", "https")];
        assert_eq!(resolver().resolve("192.0.2.9:1".parse().unwrap(), &headers(&pairs)), None);
        assert_eq!(ForwardingResolver::default().resolve(proxy(), &headers(&pairs)), None);
        // An IPv4 peer on a dual-stack socket is trusted as its IPv4 address.
        assert!(resolver().resolve("[::ffff:10.0.0.2]:1".parse().unwrap(), &headers(&pairs)).is_some());
    }
}

/// Property tests: any header values resolve without a panic, and a client is only ever found in headers.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_headers_resolve(
            forwarded in prop_oneof!["[a-z0-9=;,\" .:\\[\\]_-]{0,40}", any::<String>()],
            xff in prop_oneof!["[0-9., :a-f\\[\\]]{0,30}", any::<String>()],
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [("forwarded", &forwarded), ("x-forwarded-for", &xff)] {
                if let Ok(value) = value.parse() {
                    headers.append(name, value);
                }
            }
            let resolver = ForwardingResolver::trusting(["0.0.0.0/0"]).unwrap();
            let resolved = resolver.resolve("10.0.0.1:1".parse().unwrap(), &headers);
            prop_assert!(resolved.is_some(), "a trusted peer always resolves, to nothing at worst");
            if resolved.and_then(|f| f.client).is_some() {
                prop_assert!(!headers.is_empty());
            }
        }
    }
}
