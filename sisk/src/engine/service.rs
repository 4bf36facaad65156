//! The service under every connection: a hyper request in, a hyper response out. It checks the declared
//! length against the limit, traces the request, hands it to its host's router's pipeline
//! ([`Router::dispatch`](crate::routing::Router::dispatch)) and leaves a `HEAD` answer's body out; everything a request is answered with
//! is decided there.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderValue, CONTENT_LENGTH};
use http::Method;
use http_body::Body as _;

use crate::engine::host_routing::HostRouting;
use crate::engine::request_body::RequestBody;
use crate::engine::transport::{Connection, Transport};
use crate::http::body::ResponseBody;
use crate::http::{HttpServer, IntoResponse};
use crate::routing::pipeline::Incoming;
use crate::Error;

/// Everything a connection of one listener needs to answer requests: the server, shared by all its
/// listeners, and the routers of the listener's hosts.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) server: HttpServer,
    pub(crate) routing: HostRouting,
}

impl App {
    /// Answers one request (see the module docs).
    pub(crate) async fn handle(
        self: Arc<Self>,
        request: http::Request<RequestBody>,
        remote: SocketAddr,
        connection: &Connection,
    ) -> http::Response<ResponseBody> {
        // Until this returns, a client's half-close waits (see `transport`).
        let _handling = connection.handling_request();
        // Status and elapsed time go in the `answered` event, once; the clock is read only when someone
        // listens (a disabled span and event cost a check of a static each).
        let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
        let started = (!span.is_disabled() || tracing::enabled!(tracing::Level::INFO)).then(Instant::now);
        let is_head = request.method() == Method::HEAD;
        let (parts, body) = request.into_parts();
        #[cfg(feature = "compression")]
        let accepted = self.server.configuration().enable_automatic_response_compression.then(|| {
            let mut accepted = http::HeaderMap::new();
            for value in parts.headers.get_all(http::header::ACCEPT_ENCODING) {
                accepted.append(http::header::ACCEPT_ENCODING, value.clone());
            }
            (parts.method.clone(), accepted)
        });
        let limit = self.server.configuration().maximum_content_length;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let response = if limit > 0 && declared.is_some_and(|length| length > limit) {
            Error::content_too_large(limit).into_response()
        } else {
            match self.routing.pick(&parts) {
                Ok(router) => {
                    let incoming = Incoming { parts, body, remote, transport: Transport::current(connection) };
                    router.dispatch(&self.server, incoming, &span).await
                }
                Err(unknown) => unknown.answer(),
            }
        };
        if let Some(started) = started {
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(parent: &span, status = response.status.as_u16(), elapsed_ms, "answered");
        }
        #[cfg(feature = "compression")]
        let response = match &accepted {
            Some((method, accepted)) => crate::http::compression::compress(method, accepted, response),
            None => response,
        };
        let mut response = response.into_hyper();
        if is_head {
            strip_body_for_head(&mut response);
        }
        response
    }
}

/// A `HEAD` response keeps the `Content-Length` the `GET` would have had and sends no body (a streamed
/// body of known length, such as a file's, is dropped unread).
fn strip_body_for_head(response: &mut http::Response<ResponseBody>) {
    if let Some(length) = response.body().size_hint().exact() {
        response.headers_mut().entry(CONTENT_LENGTH).or_insert_with(|| HeaderValue::from(length));
        *response.body_mut() = ResponseBody::empty();
    }
}
