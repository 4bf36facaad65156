//! The request pipeline: from a hyper request to a response — limits, CORS, routing, request handlers,
//! the action, panics turned into 500s, and the hand-off of event streams whose handlers keep running.

use std::any::Any;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use http::header::{HeaderValue, CONTENT_LENGTH};
use http::{Method, StatusCode};
use http_body::Body as _;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::http::body::ResponseBody;
use crate::http::cors::CorsPolicy;
use crate::http::request::RequestParts;
use crate::http::request_body::RequestBody;
use crate::http::transport::{Connection, Transport};
use crate::http::{HttpRequest, HttpResponse, HttpServer, IntoResponse};
use crate::routing::request_handler::HandlerKind;
use crate::routing::router::Resolution;
use crate::routing::{Route, Router};
use crate::Error;

/// Everything a connection needs to answer requests.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) server: HttpServer,
    pub(crate) router: Router,
    pub(crate) cors: Option<CorsPolicy>,
}

impl App {
    /// Answers one request. The action runs inline; if it turns the request into an event stream, the
    /// stream's head is returned as soon as it is committed and the rest of the action goes on in a
    /// tracked task.
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
        let (head_slot, mut head) = oneshot::channel();
        let mut pipeline = Box::pin(
            AssertUnwindSafe(self.clone().process(request, remote, Transport::current(connection), head_slot))
                .catch_unwind()
                .instrument(span.clone()),
        );

        let response = tokio::select! {
            biased;
            outcome = &mut pipeline => match head.try_recv() {
                Ok(stream_head) => stream_head,
                Err(_) => outcome.unwrap_or_else(|panic| panic_response(&span, panic)),
            },
            Ok(stream_head) = &mut head => {
                let span = span.clone();
                let abandoned = self.server.abandoned().clone();
                self.server.streaming_tasks().spawn(async move {
                    tokio::select! {
                        outcome = pipeline => if let Err(panic) = outcome {
                            tracing::error!(parent: &span, panic = %panic_message(&panic), "handler panicked after its event stream began");
                        },
                        () = abandoned.cancelled() => tracing::warn!(parent: &span, "handler dropped at the shutdown timeout"),
                    }
                });
                stream_head
            }
        };

        if let Some(started) = started {
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(parent: &span, status = response.status.as_u16(), elapsed_ms, "answered");
        }
        let mut response = response.into_hyper();
        if is_head {
            strip_body_for_head(&mut response);
        }
        response
    }

    async fn process(
        self: Arc<Self>,
        request: http::Request<RequestBody>,
        remote: SocketAddr,
        transport: Transport,
        head_slot: oneshot::Sender<HttpResponse>,
    ) -> HttpResponse {
        let (parts, body) = request.into_parts();
        let limit = self.server.configuration().maximum_content_length;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if limit > 0 && declared.is_some_and(|length| length > limit) {
            return Error::content_too_large(limit).into_response();
        }
        // `None` (no policy, no `Origin`, or one not allowed) leaves the request's and the response's
        // headers alone.
        let cors_headers = self.cors.as_ref().and_then(|cors| cors.headers_for(&parts.method, &parts.headers));
        let server = self.server.clone();
        let response_headers = cors_headers.clone().unwrap_or_default();
        let make_request = move |parts, route_parameters| {
            HttpRequest::new(RequestParts {
                parts,
                body: Some(body),
                remote_address: remote,
                route_parameters,
                server,
                response_headers,
                transport,
                head_slot: Some(head_slot),
            })
        };
        let mut response = match self.router.resolve(&parts.method, parts.uri.path()) {
            Resolution::Found(route, parameters) => {
                run_route(&self.router, route, make_request(parts, parameters)).await
            }
            // As in Sisk: `OPTIONS` on a path without an `OPTIONS` route (a CORS preflight, say) is `200`.
            Resolution::MethodNotAllowed(allow) if parts.method == http::Method::OPTIONS => {
                HttpResponse::new().with_header(http::header::ALLOW, format!("{allow}, OPTIONS"))
            }
            Resolution::MethodNotAllowed(allow) => {
                self.router.method_not_allowed(make_request(parts, Vec::new()), &allow).await
            }
            Resolution::NotFound => self.router.not_found(make_request(parts, Vec::new())).await,
            Resolution::InvalidParameter => HttpResponse::with_status_code(StatusCode::BAD_REQUEST)
                .with_content("a route parameter holds a control character"),
        };
        for (name, value) in cors_headers.iter().flatten() {
            response.headers.entry(name).or_insert_with(|| value.clone());
        }
        response
    }
}

/// Runs the before handlers (global but the bypassed ones, then the route's), the action, then the after
/// handlers. As in Sisk, a before handler that answers ends the pipeline there.
async fn run_route(router: &Router, route: &Route, request: HttpRequest) -> HttpResponse {
    let global = router.global_request_handlers.iter().filter(|handler| !route.bypasses(handler));
    let handlers = || global.clone().chain(&route.request_handlers);
    for handler in handlers() {
        if let HandlerKind::Before(before) = &handler.kind {
            if let Some(mut response) = before(request.clone()).await {
                if response.status.is_server_error() {
                    request.fail_event_stream(&mut response);
                }
                return response;
            }
        }
    }
    let mut response = route.action.call(request.clone()).await;
    if response.status.is_server_error() {
        request.fail_event_stream(&mut response);
    }
    for handler in handlers() {
        if let HandlerKind::After(after) = &handler.kind {
            response = after(request.clone(), response).await;
        }
    }
    response
}

/// Logs a panic from an action and makes the 500 the client receives. (Only the user's panics get here:
/// the library refuses with values, never by unwinding.)
fn panic_response(span: &tracing::Span, panic: Box<dyn Any + Send>) -> HttpResponse {
    tracing::error!(parent: span, panic = %panic_message(&panic), "handler panicked; answering 500");
    HttpResponse::with_status_code(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The text a panic carries, or what it is when it carries none.
fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

/// A `HEAD` response keeps the `Content-Length` the `GET` would have had and sends no body (a streamed
/// body of known length, such as a file's, is dropped unread).
fn strip_body_for_head(response: &mut http::Response<ResponseBody>) {
    if let Some(length) = response.body().size_hint().exact() {
        response.headers_mut().entry(CONTENT_LENGTH).or_insert_with(|| HeaderValue::from(length));
        *response.body_mut() = ResponseBody::empty();
    }
}
