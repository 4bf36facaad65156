//! The request pipeline: from a hyper request to a response — limits, CORS, routing, request handlers,
//! the action, panics turned into 500s, and the hand-off of event streams whose handlers keep running.
//!
//! The stages of a route (before handlers, action, after handlers) run in place, in the request's own
//! future; each stage's future is boxed already (handlers and actions are type-erased), so what is still
//! running can move. When an event stream's head is committed while a stage runs, that stage's future
//! and the stages still to come ([`Pipeline`]) move to a small tracked task, and the head is answered at
//! once: an open stream keeps its handler's own future, the request and the handlers still to run, not
//! the whole request pipeline.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use http::header::{HeaderValue, CONTENT_LENGTH};
use http::{HeaderMap, Method, StatusCode};
use http_body::Body as _;
use tokio::sync::oneshot;

use crate::http::body::ResponseBody;
use crate::http::cors::CorsPolicy;
use crate::http::request::RequestParts;
use crate::http::request_body::RequestBody;
use crate::http::transport::{Connection, Transport};
use crate::http::{HttpRequest, HttpResponse, HttpServer, IntoResponse};
use crate::routing::action::{Action, ResponseFuture};
use crate::routing::request_handler::{HandlerKind, RequestHandler};
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

/// How the stages in place ended.
enum Outcome {
    /// The last stage answered.
    Answered(HttpResponse),
    /// A stage committed an event stream's head: this is the head, and what was still running went on
    /// in a task (or had just ended).
    Streaming(HttpResponse),
    /// A stage panicked before any stream began.
    Panicked(Box<dyn Any + Send>),
}

/// What one poll of the stages in place found.
enum Polled {
    Answered(HttpResponse),
    Head(HttpResponse),
    Panicked(Box<dyn Any + Send>),
}

impl App {
    /// Answers one request. The stages run in place; if one turns the request into an event stream, the
    /// stream's head is returned as soon as it is committed and what is still running goes on in a
    /// tracked task (see the module docs).
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
        let (head_slot, head) = oneshot::channel();
        let (pipeline, cors_headers) = self.start(request, remote, Transport::current(connection), head_slot);
        let outcome = match pipeline {
            Ok(pipeline) => self.run_in_place(pipeline, head, &span).await,
            Err(answer) => Outcome::Answered(answer),
        };
        let response = match outcome {
            Outcome::Answered(mut response) => {
                for (name, value) in cors_headers.iter().flatten() {
                    response.headers.entry(name).or_insert_with(|| value.clone());
                }
                response
            }
            Outcome::Streaming(stream_head) => stream_head,
            Outcome::Panicked(panic) => panic_response(&span, panic),
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

    /// Everything before the first stage: the declared length, CORS, routing, the request itself. `Err`
    /// is an answer that runs no stage. The CORS headers (`None` for no policy, no `Origin`, one not
    /// allowed, or a body over the limit) go on the answer.
    #[allow(clippy::type_complexity)]
    fn start(
        self: &Arc<Self>,
        request: http::Request<RequestBody>,
        remote: SocketAddr,
        transport: Transport,
        head_slot: oneshot::Sender<HttpResponse>,
    ) -> (Result<Pipeline<'_>, HttpResponse>, Option<HeaderMap>) {
        let (parts, body) = request.into_parts();
        let limit = self.server.configuration().maximum_content_length;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if limit > 0 && declared.is_some_and(|length| length > limit) {
            return (Err(Error::content_too_large(limit).into_response()), None);
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
        let pipeline = match self.router.resolve(&parts.method, parts.uri.path()) {
            Resolution::Found(route, parameters) => {
                Ok(Pipeline::route(&self.router.global_request_handlers, route, make_request(parts, parameters)))
            }
            // As in Sisk: `OPTIONS` on a path without an `OPTIONS` route (a CORS preflight, say) is `200`.
            Resolution::MethodNotAllowed(allow) if parts.method == http::Method::OPTIONS => {
                Err(HttpResponse::new().with_header(http::header::ALLOW, format!("{allow}, OPTIONS")))
            }
            Resolution::MethodNotAllowed(allow) => {
                let (app, request) = (Arc::clone(self), make_request(parts, Vec::new()));
                let answer = request.clone();
                Ok(Pipeline::fallback(
                    request,
                    Box::pin(async move { app.router.method_not_allowed(answer, &allow).await }),
                ))
            }
            Resolution::NotFound => {
                let (app, request) = (Arc::clone(self), make_request(parts, Vec::new()));
                let answer = request.clone();
                Ok(Pipeline::fallback(request, Box::pin(async move { app.router.not_found(answer).await })))
            }
            Resolution::InvalidParameter => Err(HttpResponse::with_status_code(StatusCode::BAD_REQUEST)
                .with_content("a route parameter holds a control character")),
        };
        (pipeline, cors_headers)
    }

    /// Polls the stages in place, inside the request's span, until they answer, panic, or commit an
    /// event stream's head — then hands what is still running to a tracked task.
    async fn run_in_place(
        &self,
        mut pipeline: Pipeline<'_>,
        head: oneshot::Receiver<HttpResponse>,
        span: &tracing::Span,
    ) -> Outcome {
        let mut head = Some(head);
        let polled = std::future::poll_fn(|cx| {
            match poll_caught(&mut pipeline, span, cx) {
                Poll::Ready(Ok(response)) => return Poll::Ready(Polled::Answered(response)),
                Poll::Ready(Err(panic)) => return Poll::Ready(Polled::Panicked(panic)),
                Poll::Pending => {}
            }
            // The stages first, as before: one that answered is seen first, and a head committed in
            // that same poll is looked for below.
            if let Some(receiver) = head.as_mut() {
                match Pin::new(receiver).poll(cx) {
                    Poll::Ready(Ok(stream_head)) => return Poll::Ready(Polled::Head(stream_head)),
                    // The request let go of its slot: no stream can begin any more.
                    Poll::Ready(Err(_)) => head = None,
                    Poll::Pending => {}
                }
            }
            Poll::Pending
        })
        .await;
        let committed = head.as_mut().and_then(|receiver| receiver.try_recv().ok());
        match (polled, committed) {
            (Polled::Head(stream_head), _) => {
                self.hand_off(pipeline.into_owned(), span.clone());
                Outcome::Streaming(stream_head)
            }
            // A stream whose head went out in the poll that ended its stages: it has nothing left to
            // run, and ends with the request (dropped here).
            (Polled::Answered(_), Some(stream_head)) => Outcome::Streaming(stream_head),
            (Polled::Answered(response), None) => Outcome::Answered(response),
            (Polled::Panicked(panic), committed) => {
                // The stages' own copies of the request went with the unwinding; this one says why.
                pipeline
                    .request
                    .fail_event_stream(&mut HttpResponse::with_status_code(StatusCode::INTERNAL_SERVER_ERROR));
                match committed {
                    Some(stream_head) => {
                        tracing::error!(parent: span, panic = %panic_message(&panic), "handler panicked after its event stream began");
                        Outcome::Streaming(stream_head)
                    }
                    None => Outcome::Panicked(panic),
                }
            }
        }
    }

    /// Runs what is still running of a pipeline whose event stream began, in a task of its own that the
    /// graceful shutdown waits for (and drops at its timeout).
    fn hand_off(&self, mut pipeline: Pipeline<'static>, span: tracing::Span) {
        let abandoned = self.server.abandoned().clone();
        self.server.streaming_tasks().spawn(async move {
            let stages = std::future::poll_fn(|cx| poll_caught(&mut pipeline, &span, cx));
            let ran = tokio::select! {
                ran = stages => Some(ran),
                () = abandoned.cancelled() => None,
            };
            match ran {
                Some(Ok(_)) => {}
                Some(Err(panic)) => {
                    pipeline.request.fail_event_stream(&mut HttpResponse::with_status_code(StatusCode::INTERNAL_SERVER_ERROR));
                    tracing::error!(parent: &span, panic = %panic_message(&panic), "handler panicked after its event stream began");
                }
                None => tracing::warn!(parent: &span, "handler dropped at the shutdown timeout"),
            }
        });
    }
}

/// Polls `pipeline`'s stages once inside `span`, with a panic caught as an `Err`.
fn poll_caught(
    pipeline: &mut Pipeline<'_>,
    span: &tracing::Span,
    cx: &mut Context<'_>,
) -> Poll<Result<HttpResponse, Box<dyn Any + Send>>> {
    let _entered = span.enter();
    match std::panic::catch_unwind(AssertUnwindSafe(|| pipeline.poll_stages(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(response)) => Poll::Ready(Ok(response)),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// A before handler's boxed future.
type BeforeFuture = Pin<Box<dyn Future<Output = Option<HttpResponse>> + Send>>;

/// The stages of one request: the one running (a boxed future, so it can move), and where the others
/// are. As in Sisk: the before handlers (global but the bypassed ones, then the route's), the action,
/// then the after handlers; a before handler that answers ends the pipeline there.
struct Pipeline<'r> {
    request: HttpRequest,
    stages: Stages<'r>,
    running: Running,
}

/// Where a pipeline's stages come from.
enum Stages<'r> {
    /// A route of the router.
    Route { global: &'r [RequestHandler], route: &'r Route },
    /// A route's stages owned, once the pipeline moved to a task: its handlers in order, and its action.
    Owned { handlers: Vec<RequestHandler>, action: Action },
    /// One future and no handlers (the router's 404 and 405).
    Fallback,
}

/// The stage that is running, with its place among the handlers.
enum Running {
    Before(usize, BeforeFuture),
    Action(ResponseFuture),
    After(usize, ResponseFuture),
    /// The last stage answered.
    Finished,
}

impl<'r> Pipeline<'r> {
    /// A route's stages, the first one started.
    fn route(global: &'r [RequestHandler], route: &'r Route, request: HttpRequest) -> Self {
        let mut pipeline = Pipeline { request, stages: Stages::Route { global, route }, running: Running::Finished };
        pipeline.running = pipeline.start_before(0);
        pipeline
    }

    /// One future that answers (`answer`), with `request` kept for what ends it.
    fn fallback(request: HttpRequest, answer: ResponseFuture) -> Self {
        Pipeline { request, stages: Stages::Fallback, running: Running::Action(answer) }
    }

    /// The same stages, owning what they borrowed from the router (a few `Arc`s; no allocation for a
    /// route without request handlers).
    fn into_owned(self) -> Pipeline<'static> {
        let stages = match self.stages {
            Stages::Route { global, route } => Stages::Owned {
                handlers: route_handlers(global, route).cloned().collect(),
                action: route.action.clone(),
            },
            Stages::Owned { handlers, action } => Stages::Owned { handlers, action },
            Stages::Fallback => Stages::Fallback,
        };
        Pipeline { request: self.request, stages, running: self.running }
    }

    /// The first handler at `from` or after it of the kind `wanted` picks, with its place.
    fn next_handler<T>(&self, from: usize, mut wanted: impl FnMut(&HandlerKind) -> Option<T>) -> Option<(usize, T)> {
        let found = |(at, handler): (usize, &RequestHandler)| wanted(&handler.kind).map(|picked| (at, picked));
        match &self.stages {
            Stages::Route { global, route } => route_handlers(global, route).enumerate().skip(from).find_map(found),
            Stages::Owned { handlers, .. } => handlers.iter().enumerate().skip(from).find_map(found),
            Stages::Fallback => None,
        }
    }

    /// Starts the first before handler at `from` or after it, or else the action.
    fn start_before(&self, from: usize) -> Running {
        let before = |kind: &HandlerKind| match kind {
            HandlerKind::Before(before) => Some(before(self.request.clone())),
            HandlerKind::After(_) => None,
        };
        if let Some((at, started)) = self.next_handler(from, before) {
            return Running::Before(at, started);
        }
        match &self.stages {
            Stages::Route { route, .. } => Running::Action(route.action.call(self.request.clone())),
            Stages::Owned { action, .. } => Running::Action(action.call(self.request.clone())),
            // A fallback starts at its future and has no before handler to come from.
            Stages::Fallback => Running::Finished,
        }
    }

    /// Starts the first after handler at `from` or after it with `response`; `Err(response)` when none
    /// is left. (The large `Err` is the response itself, moved once at the end.)
    #[allow(clippy::result_large_err)]
    fn start_after(&self, from: usize, response: HttpResponse) -> Result<Running, HttpResponse> {
        let mut response = Some(response);
        let after = |kind: &HandlerKind| match kind {
            HandlerKind::After(after) => response.take().map(|response| after(self.request.clone(), response)),
            HandlerKind::Before(_) => None,
        };
        match self.next_handler(from, after) {
            Some((at, started)) => Ok(Running::After(at, started)),
            None => Err(response.take().unwrap_or_default()),
        }
    }

    /// Polls the running stage, and starts each next one as the previous ends, until the last answers.
    fn poll_stages(&mut self, cx: &mut Context<'_>) -> Poll<HttpResponse> {
        loop {
            let next = match &mut self.running {
                Running::Before(at, future) => {
                    let at = *at;
                    match ready!(future.as_mut().poll(cx)) {
                        Some(response) => Err(self.failed_if_server_error(response)),
                        None => Ok(self.start_before(at + 1)),
                    }
                }
                Running::Action(future) => {
                    let response = ready!(future.as_mut().poll(cx));
                    self.start_after(0, self.failed_if_server_error(response))
                }
                Running::After(at, future) => {
                    let at = *at;
                    let response = ready!(future.as_mut().poll(cx));
                    self.start_after(at + 1, response)
                }
                Running::Finished => return Poll::Pending,
            };
            match next {
                Ok(running) => self.running = running,
                Err(response) => {
                    self.running = Running::Finished;
                    return Poll::Ready(response);
                }
            }
        }
    }

    /// A server error from a before handler or the action: a stream that already began breaks instead of
    /// ending.
    fn failed_if_server_error(&self, mut response: HttpResponse) -> HttpResponse {
        if response.status.is_server_error() {
            self.request.fail_event_stream(&mut response);
        }
        response
    }
}

/// A route's request handlers in order: the global ones it does not bypass, then its own.
fn route_handlers<'r>(
    global: &'r [RequestHandler],
    route: &'r Route,
) -> impl Iterator<Item = &'r RequestHandler> + Clone {
    global.iter().filter(move |handler| !route.bypasses(handler)).chain(&route.request_handlers)
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
