//! The opening handshake: what makes a request a valid WebSocket upgrade — HTTP/1.1's `Upgrade`
//! (RFC 6455 §4.2.1) or HTTP/2's extended `CONNECT` (RFC 8441) — and the head that accepts it. Only
//! headers are read here; the bytes after the head belong to tungstenite.

use std::sync::Arc;

use base64::Engine as _;
use http::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{HeaderMap, Method, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::http::body::ResponseBody;
use crate::http::request::RequestHead;
use crate::http::websockets::HttpWebSocket;
use crate::http::HttpResponse;
use crate::Error;

/// The read buffer of each socket (see `complete`).
const READ_BUFFER: usize = 8 * 1024;

/// The one version of the protocol there is.
const VERSION: &str = "13";

/// What hyper gave a request that may become a WebSocket: the connection (or HTTP/2 stream) it hands
/// over once the accepting head is sent, and whether the request came as HTTP/2's extended `CONNECT`.
#[derive(Debug)]
pub(crate) struct Upgradable {
    pub(crate) on_upgrade: hyper::upgrade::OnUpgrade,
    pub(crate) extended_connect: bool,
}

/// Marks, in a request's extensions, an HTTP/2 extended `CONNECT` for a WebSocket that the router
/// resolves as the `GET` it stands for.
#[derive(Debug, Clone, Copy)]
struct ExtendedConnect;

/// An HTTP/2 `CONNECT` with `:protocol = websocket` is routed as a `GET`: a route for a WebSocket
/// serves browsers on either protocol.
pub(crate) fn route_extended_connect_as_get(parts: &mut http::request::Parts) {
    let asks = parts.method == Method::CONNECT
        && parts.extensions.get::<hyper::ext::Protocol>().is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"));
    if asks {
        parts.method = Method::GET;
        parts.extensions.insert(ExtendedConnect);
    }
}

/// Takes out of a request's extensions what upgrading it needs, if hyper put it there (a request that
/// asked to upgrade, on a connection served by sisk).
pub(crate) fn take_upgradable(extensions: &mut http::Extensions) -> Option<Upgradable> {
    let on_upgrade = extensions.remove::<hyper::upgrade::OnUpgrade>()?;
    Some(Upgradable { on_upgrade, extended_connect: extensions.get::<ExtendedConnect>().is_some() })
}

/// True when a header's comma-separated values hold `token` (compared without case).
fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// Checks the handshake of a request and returns the status and headers that accept it: `101` with
/// `Sec-WebSocket-Accept` over HTTP/1.1, `200` over HTTP/2. A request that does not ask for a WebSocket,
/// or asks for another version, is refused with `426`; a malformed one with `400`.
pub(crate) fn accept(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    extended_connect: bool,
) -> Result<(StatusCode, HeaderMap), Error> {
    if !extended_connect && !has_token(headers, UPGRADE, "websocket") {
        return Err(Error::upgrade_required("it does not ask to upgrade to one (`Upgrade: websocket`)"));
    }
    if !extended_connect {
        if version < Version::HTTP_11 {
            return Err(Error::invalid_handshake("an upgrade needs HTTP/1.1"));
        }
        if method != Method::GET {
            return Err(Error::invalid_handshake(&format!("its method is {method}, not GET")));
        }
        if !has_token(headers, CONNECTION, "upgrade") {
            return Err(Error::invalid_handshake("its `Connection` header does not say `upgrade`"));
        }
    }
    let versions: Vec<&HeaderValue> = headers.get_all(SEC_WEBSOCKET_VERSION).iter().collect();
    if versions.len() != 1 || versions[0] != VERSION {
        return Err(Error::upgrade_required("it does not ask for version 13 (`Sec-WebSocket-Version: 13`)"));
    }
    let mut head = HeaderMap::new();
    if extended_connect {
        return Ok((StatusCode::OK, head));
    }
    let keys: Vec<&HeaderValue> = headers.get_all(SEC_WEBSOCKET_KEY).iter().collect();
    let valid_key = match keys.as_slice() {
        [key] => base64::engine::general_purpose::STANDARD.decode(key.as_bytes()).is_ok_and(|nonce| nonce.len() == 16),
        _ => false,
    };
    if !valid_key {
        return Err(Error::invalid_handshake("its `Sec-WebSocket-Key` is not one base64 value of 16 bytes"));
    }
    let accept = derive_accept_key(keys[0].as_bytes());
    head.insert(UPGRADE, HeaderValue::from_static("websocket"));
    head.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    // A base64 text: always a valid header value.
    head.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept).map_err(Error::invalid_header)?);
    Ok((StatusCode::SWITCHING_PROTOCOLS, head))
}

/// Sends the accepting `head` (status and headers) through the request's head slot — the path an event
/// stream's head takes to the pipeline — then waits for hyper to hand the connection over, and starts
/// the task that drives `socket` on it. An error when the request ended first, or the client left
/// before the head reached it.
pub(crate) async fn complete(
    request: &Arc<RequestHead>,
    socket: &HttpWebSocket,
    on_upgrade: hyper::upgrade::OnUpgrade,
    head: (StatusCode, HeaderMap),
) -> Result<(), Error> {
    let (status, mut headers) = head;
    for (name, value) in &request.response_headers {
        headers.append(name, value.clone());
    }
    let configuration = request.server.configuration();
    request.transport.bound_send_buffer(configuration.event_source_send_buffer);
    // The connection's task ends when hyper hands the connection over: from now on the socket holds its
    // place among the server's open connections (taken before the head goes, so the task cannot give
    // it back first).
    let place = request.transport.take_connection_place();
    if !request.head_slot.commit(HttpResponse::with_body(status, headers, ResponseBody::empty())) {
        return Err(Error::web_socket_unavailable("the request was over before its handshake was sent"));
    }
    let abandoned = request.server.abandoned().clone();
    let upgraded = tokio::select! {
        upgraded = on_upgrade => upgraded,
        () = abandoned.cancelled() => return Err(Error::web_socket_unavailable("the server was abandoned")),
    };
    let upgraded = upgraded
        .map_err(|err| Error::web_socket_unavailable("the client left before the handshake was done").caused_by(err))?;
    // tungstenite's read buffer is allocated whole for each socket, 128 KiB by default: an open socket
    // would cost that much memory idle. 8 KiB, as hyper's, reads a larger frame in more calls, and
    // grows for a message that needs it.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(configuration.web_socket_max_message_size))
        .max_frame_size(Some(configuration.web_socket_max_frame_size));
    let stream = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let Some(inbox) = socket.take_inbox_sender() else {
        return Err(Error::web_socket_unavailable("its socket was started already"));
    };
    request.server.streaming_tasks().spawn(super::pump::drive(stream, socket.clone(), inbox, place));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    fn browser() -> Vec<(&'static str, &'static str)> {
        vec![
            ("upgrade", "websocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
    }

    #[test]
    fn the_rfc_example_is_accepted_with_its_accept_key() {
        let (status, head) = accept(&Method::GET, Version::HTTP_11, &request(&browser()), false).unwrap();
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        // RFC 6455 §1.3.
        assert_eq!(head[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(head[UPGRADE], "websocket");
    }

    #[test]
    fn a_request_that_does_not_ask_for_a_websocket_is_told_to_upgrade() {
        let err = accept(&Method::GET, Version::HTTP_11, &HeaderMap::new(), false).unwrap_err();
        assert_eq!((err.kind(), err.status_code()), (ErrorKind::UpgradeRequired, Some(StatusCode::UPGRADE_REQUIRED)));
    }

    #[test]
    fn malformed_handshakes_are_refused_with_400_and_another_version_with_426() {
        let without = |name: &str| browser().into_iter().filter(|(n, _)| *n != name).collect::<Vec<_>>();
        let with = |name: &'static str, value: &'static str| {
            let mut pairs = without(name);
            pairs.push((name, value));
            pairs
        };
        let refused = |pairs: Vec<(&'static str, &'static str)>, method: Method| {
            accept(&method, Version::HTTP_11, &request(&pairs), false).unwrap_err().status_code()
        };
        let bad = Some(StatusCode::BAD_REQUEST);
        assert_eq!(refused(without("sec-websocket-key"), Method::GET), bad);
        assert_eq!(refused(with("sec-websocket-key", "not base64!"), Method::GET), bad);
        assert_eq!(refused(with("sec-websocket-key", "c2hvcnQ="), Method::GET), bad, "5 bytes, not 16");
        assert_eq!(refused(without("connection"), Method::GET), bad);
        assert_eq!(refused(browser(), Method::POST), bad);
        assert_eq!(refused(with("sec-websocket-version", "8"), Method::GET), Some(StatusCode::UPGRADE_REQUIRED));
        assert_eq!(refused(without("sec-websocket-version"), Method::GET), Some(StatusCode::UPGRADE_REQUIRED));
    }

    #[test]
    fn an_extended_connect_is_accepted_with_200_and_no_key() {
        let headers = request(&[("sec-websocket-version", "13")]);
        let (status, head) = accept(&Method::GET, Version::HTTP_2, &headers, true).unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(head.is_empty());
    }
}

/// Property tests: any headers a client can send get an answer, never a panic, and a request that
/// passes always gets the `Sec-WebSocket-Accept` its key calls for.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Any bytes a header value may hold (no CR, LF or NUL), biased toward the handshake's own words.
    fn header_value() -> impl Strategy<Value = HeaderValue> {
        let word = prop_oneof![
            Just(b"websocket".to_vec()),
            Just(b"Upgrade".to_vec()),
            Just(b"13".to_vec()),
            Just(b"dGhlIHNhbXBsZSBub25jZQ==".to_vec()),
            prop::collection::vec(prop_oneof![b'\t'..=b'\t', 0x20u8..=0x7e, 0x80u8..=0xff], 0..40),
        ];
        prop::collection::vec(word, 1..3)
            .prop_map(|words| HeaderValue::from_bytes(&words.join(&b',')).expect("no CR, LF or NUL"))
    }

    fn headers() -> impl Strategy<Value = HeaderMap> {
        let name = prop_oneof![
            Just(UPGRADE),
            Just(CONNECTION),
            Just(SEC_WEBSOCKET_VERSION),
            Just(SEC_WEBSOCKET_KEY),
            Just(http::header::HOST)
        ];
        prop::collection::vec((name, header_value()), 0..8).prop_map(|pairs| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(name, value);
            }
            headers
        })
    }

    proptest! {
        #[test]
        fn any_headers_are_accepted_or_refused_with_an_answer(
            headers in headers(),
            extended_connect in any::<bool>(),
            post in any::<bool>(),
        ) {
            let method = if post { Method::POST } else { Method::GET };
            let version = if extended_connect { Version::HTTP_2 } else { Version::HTTP_11 };
            match accept(&method, version, &headers, extended_connect) {
                Ok((status, head)) if extended_connect => {
                    prop_assert_eq!(status, StatusCode::OK);
                    prop_assert!(head.is_empty());
                }
                Ok((status, head)) => {
                    prop_assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
                    let key = headers.get(SEC_WEBSOCKET_KEY).expect("accepted with a key");
                    let expected = derive_accept_key(key.as_bytes());
                    prop_assert_eq!(&head[SEC_WEBSOCKET_ACCEPT], expected.as_str());
                }
                Err(refused) => {
                    let status = refused.status_code();
                    prop_assert!(status == Some(StatusCode::BAD_REQUEST) || status == Some(StatusCode::UPGRADE_REQUIRED));
                }
            }
        }
    }
}
