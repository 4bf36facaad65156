//! The service under every connection: a hyper request in, a hyper response out. It traces the request,
//! hands it to the pipeline of its host's router ([`Router::dispatch`](crate::routing::Router::dispatch)),
//! compresses the answer where that is on, leaves a `HEAD` answer's body out, and, with server handlers,
//! makes the body close the request when it ends; everything a request is answered with is decided in the
//! pipeline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, CONTENT_LENGTH};
use http::Method;
use http_body::Body as _;

use crate::engine::host_routing::HostRouting;
use crate::engine::request_body::RequestBody;
use crate::engine::transport::{Connection, Transport};
use crate::http::body::ResponseBody;
use crate::http::handlers::RequestClose;
use crate::http::HttpServer;
use crate::routing::pipeline::{Dispatched, Incoming};

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
        // listens (a disabled span and event cost a check of a static each), or the server's handlers
        // are to be told when the request closes.
        let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
        let observing = self.server.handlers().any();
        let traced = !span.is_disabled() || tracing::enabled!(tracing::Level::INFO);
        let started = (traced || observing).then(Instant::now);
        let received_at = observing.then(SystemTime::now);
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
        let dispatched = match self.routing.pick(&parts) {
            Ok(router) => {
                let incoming = Incoming { parts, body, remote, transport: Transport::current(connection) };
                router.dispatch(&self.server, incoming, &span).await
            }
            Err(unknown) => Dispatched { response: unknown.answer(), observed: None },
        };
        let Dispatched { response, observed } = dispatched;
        if let Some(started) = started.filter(|_| traced) {
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
        if let (Some(observed), Some(received_at), Some(started)) = (observed, received_at, started) {
            let close = RequestClose::new(self.server.clone(), observed, &response, received_at, started);
            let body = std::mem::replace(response.body_mut(), ResponseBody::empty());
            *response.body_mut() = body.closing_with(close);
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
