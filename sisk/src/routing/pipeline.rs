//! The request pipeline, which the router owns from end to end ([`Router::dispatch`]): the CORS headers
//! of the answer, the route's match, the stages of its answer (before handlers, the action, after
//! handlers) or the router's own `404`, `405` and `OPTIONS` answers, a panic turned into a `500` (or,
//! like a handler's error, answered by the router's callback error handler), and the
//! hand-off of an event stream whose handler keeps running.
//!
//! The stages run in place, in the request's own future; each stage's future is boxed already (handlers
//! and actions are type-erased), so what is still running can move. When an event stream's head is
//! committed while a stage runs, that stage's future and the stages still to come ([`Pipeline`]) move to
//! a small tracked task, and the head is answered at once: an open stream keeps its handler's own future,
//! the request and the handlers still to run, not the whole request pipeline.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::CONTENT_LENGTH;
use http::{Method, StatusCode};

use crate::engine::request_body::RequestBody;
use crate::engine::transport::Transport;
use crate::http::handlers::ServerHandlers;
use crate::http::request::{RequestHead, RequestParts};
use crate::http::{HttpRequest, HttpResponse, HttpServer};
use crate::routing::action::{Action, ResponseFuture};
use crate::routing::allowed_methods::AllowedMethods;
use crate::routing::error_handler::CallbackErrorHandler;
use crate::routing::request_handler::{HandlerKind, RequestHandler};
use crate::routing::router::Resolution;
use crate::routing::HandlerFailure;
use crate::routing::{Route, RouteMethod, Router};
use crate::Error;

/// A request as the engine hands it to the router: hyper's parts and body, and where it came from.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: RequestBody,
    pub(crate) remote: SocketAddr,
    pub(crate) transport: Transport,
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

/// A request's answer, as the pipeline gives it to the engine.
pub(crate) struct Dispatched {
    pub(crate) response: HttpResponse,
    /// With server handlers: what their close hooks are told of the request (none without).
    pub(crate) observed: Option<Box<Observed>>,
}

/// What the server's handlers are told of a request when it closes, beside its response.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) request: HttpRequest,
    /// The size its `Content-Length` declared.
    pub(crate) request_size: u64,
    /// Refused for the size it declared, before any stage ran.
    pub(crate) too_large: bool,
    pub(crate) failure: Option<HandlerFailure>,
    /// The failure was answered by the router's callback error handler.
    pub(crate) answered_by_callback: bool,
}

/// The failure a request met in its stages, and who answered it.
#[derive(Default)]
struct FailureSeen {
    failure: Option<HandlerFailure>,
    answered_by_callback: bool,
}

impl Router {
    /// Answers one request of `server`, traced in `span`. The stages run in place; if one turns the
    /// request into an event stream, the stream's head is returned as soon as it is committed and what
    /// is still running goes on in a tracked task (see the module docs).
    pub(crate) async fn dispatch(&self, server: &HttpServer, incoming: Incoming, span: &tracing::Span) -> Dispatched {
        let Incoming { parts, body, remote, transport } = incoming;
        #[cfg(feature = "websockets")]
        let parts = {
            let mut parts = parts;
            crate::http::websockets::handshake::route_extended_connect_as_get(&mut parts);
            parts
        };
        let handlers = server.handlers();
        let observing = handlers.any();
        let limit = server.configuration().maximum_content_length;
        let declared =
            parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let too_large = limit > 0 && declared.is_some_and(|length| length > limit);
        let resolution = self.resolve(&parts.method, parts.uri.path());
        // `None` (no policy, a route left out of it, no `Origin`, or one not allowed) leaves the request's
        // and the response's headers alone.
        let cors = resolution.cors(self.cors.as_ref(), &parts.headers);
        let cors_headers = cors.and_then(|cors| cors.headers_for(&parts.method, &parts.headers));
        // The request object, made only for stages to run or handlers to be told of it.
        let open = |parts, route_parameters| {
            let request = HttpRequest::new(RequestParts {
                parts,
                body: Some(body),
                remote_address: remote,
                route_parameters,
                server: server.clone(),
                response_headers: cors_headers.clone().unwrap_or_default(),
                transport,
                may_stream: true,
            });
            if observing {
                handlers.each("on_http_request_open", |handler| handler.on_http_request_open(&request));
            }
            request
        };
        let started = match resolution {
            _ if too_large => {
                Err((Error::content_too_large(limit).default_answer(), observing.then(|| open(parts, Vec::new()))))
            }
            Resolution::Found(route, parameters) => {
                Ok(Pipeline::route(&self.global_request_handlers, route, open(parts, parameters)))
            }
            // As in Sisk: `OPTIONS` on a path without an `OPTIONS` route (a CORS preflight, say) is `200`.
            Resolution::MethodNotAllowed { allowed, .. } if parts.method == Method::OPTIONS => Err((
                HttpResponse::new().with_header(http::header::ALLOW, allowed.with(RouteMethod::Options).header_value()),
                observing.then(|| open(parts, Vec::new())),
            )),
            Resolution::MethodNotAllowed { allowed, .. } => match &self.method_not_allowed {
                Some(action) => Ok(Pipeline::fallback(action, open(parts, Vec::new()), Some(allowed))),
                None => Err((
                    HttpResponse::from_status(StatusCode::METHOD_NOT_ALLOWED)
                        .with_header(http::header::ALLOW, allowed.header_value()),
                    observing.then(|| open(parts, Vec::new())),
                )),
            },
            Resolution::NotFound => match &self.not_found {
                Some(action) => Ok(Pipeline::fallback(action, open(parts, Vec::new()), None)),
                None => {
                    Err((HttpResponse::from_status(StatusCode::NOT_FOUND), observing.then(|| open(parts, Vec::new()))))
                }
            },
            Resolution::InvalidParameter => Err((
                HttpResponse::from_status(StatusCode::BAD_REQUEST)
                    .with_content("a route parameter holds a control character"),
                observing.then(|| open(parts, Vec::new())),
            )),
        };
        let mut seen = FailureSeen::default();
        let (outcome, request) = match started {
            Ok(pipeline) => {
                let request = observing.then(|| pipeline.request.clone());
                let on_failure = self.callback_error_handler.as_ref();
                (run_in_place(server, pipeline, span, on_failure, &mut seen).await, request)
            }
            Err((answer, request)) => (Outcome::Answered(answer), request),
        };
        let response = match outcome {
            Outcome::Answered(mut response) => {
                for (name, value) in cors_headers.iter().flatten() {
                    response.headers.entry(name).or_insert_with(|| value.clone());
                }
                response
            }
            Outcome::Streaming(stream_head) => stream_head,
            Outcome::Panicked(panic) => panic_response(span, panic),
        };
        let observed = request.map(|request| {
            let FailureSeen { failure, answered_by_callback } = seen;
            let request_size = declared.unwrap_or(0);
            Box::new(Observed { request, request_size, too_large, failure, answered_by_callback })
        });
        Dispatched { response, observed }
    }
}

/// Polls the stages in place, inside the request's span, until they answer, panic, or commit an event
/// stream's head — then hands what is still running to a tracked task of `server`. A handler's error or
/// panic is told to the server's handlers, answered by `on_failure` (the router's callback error
/// handler) when there is one, and kept in `seen`.
async fn run_in_place(
    server: &HttpServer,
    mut pipeline: Pipeline<'_>,
    span: &tracing::Span,
    on_failure: Option<&CallbackErrorHandler>,
    seen: &mut FailureSeen,
) -> Outcome {
    let mut looking = LookingForHead(None);
    let polled = std::future::poll_fn(|cx| {
        match poll_caught(&mut pipeline, span, cx) {
            Poll::Ready(Ok(response)) => return Poll::Ready(Polled::Answered(response)),
            Poll::Ready(Err(panic)) => return Poll::Ready(Polled::Panicked(panic)),
            Poll::Pending => {}
        }
        // The stages first: one that answered is seen first, and a head committed in that same poll is
        // looked for below. A request whose stages never wait never looks in the slot here.
        let request_head = &pipeline.request.head;
        looking.0.get_or_insert_with(|| request_head.clone());
        request_head.head_slot.poll_take(cx).map(Polled::Head)
    })
    .await;
    let committed = pipeline.request.head.head_slot.close();
    // Only someone who listens is told of a failure (a handler's error is otherwise left in its answer).
    let told = server.handlers().any() || on_failure.is_some();
    match (polled, committed) {
        (Polled::Head(stream_head), _) => {
            hand_off(server, pipeline.into_owned(), span.clone());
            Outcome::Streaming(stream_head)
        }
        // A stream whose head went out in the poll that ended its stages: it has nothing left to run,
        // and ends with the request (dropped here).
        (Polled::Answered(_), Some(stream_head)) => Outcome::Streaming(stream_head),
        (Polled::Answered(mut response), None) => {
            if let Some(error) = response.take_failure().filter(|_| told) {
                let failure = HandlerFailure::Error(error);
                report_failure(server.handlers(), &failure);
                if let Some(handler) = on_failure {
                    response = handler.answer(&failure, &pipeline.request, span);
                    seen.answered_by_callback = true;
                }
                seen.failure = Some(failure);
            }
            Outcome::Answered(response)
        }
        (Polled::Panicked(panic), committed) => {
            // The stages' own copies of the request went with the unwinding; this one says why.
            pipeline.request.fail_event_stream(&mut HttpResponse::from_status(StatusCode::INTERNAL_SERVER_ERROR));
            let failure = told.then(|| HandlerFailure::Panic(panic_message(&panic)));
            if let Some(failure) = &failure {
                report_failure(server.handlers(), failure);
            }
            let outcome = match (committed, on_failure.zip(failure.as_ref())) {
                (Some(stream_head), _) => {
                    log_panic(span, &panic, " after its event stream began");
                    Outcome::Streaming(stream_head)
                }
                (None, Some((handler, failure))) => {
                    log_panic(span, &panic, "; answering with the callback error handler");
                    seen.answered_by_callback = true;
                    Outcome::Answered(handler.answer(failure, &pipeline.request, span))
                }
                (None, None) => Outcome::Panicked(panic),
            };
            seen.failure = failure;
            outcome
        }
    }
}

/// Tells the server's handlers of a handler's failure.
fn report_failure(handlers: &ServerHandlers, failure: &HandlerFailure) {
    handlers.each("on_exception", |handler| handler.on_exception(failure));
}

/// The request head whose slot holds the pipeline's waker, once a stage waited: dropped with the
/// pipeline's future (the connection closed, say), it takes the waker out, so that a stream that lives
/// on does not keep the connection's task alive through it.
struct LookingForHead(Option<Arc<RequestHead>>);

impl Drop for LookingForHead {
    fn drop(&mut self) {
        if let Some(head) = self.0.take() {
            head.head_slot.close();
        }
    }
}

/// Runs what is still running of a pipeline whose event stream began, in a task of its own that the
/// graceful shutdown waits for (and drops at its timeout).
fn hand_off(server: &HttpServer, mut pipeline: Pipeline<'static>, span: tracing::Span) {
    let abandoned = server.abandoned().clone();
    let handlers = server.handlers().clone();
    server.streaming_tasks().spawn(async move {
        let stages = std::future::poll_fn(|cx| poll_caught(&mut pipeline, &span, cx));
        let ran = tokio::select! {
            ran = stages => Some(ran),
            () = abandoned.cancelled() => None,
        };
        match ran {
            Some(Ok(_)) => {}
            Some(Err(panic)) => {
                pipeline.request.fail_event_stream(&mut HttpResponse::from_status(StatusCode::INTERNAL_SERVER_ERROR));
                log_panic(&span, &panic, " after its event stream began");
                if handlers.any() {
                    report_failure(&handlers, &HandlerFailure::Panic(panic_message(&panic)));
                }
            }
            None => tracing::warn!(parent: &span, "handler dropped at the shutdown timeout"),
        }
    });
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
    /// The router's own `404` or `405` handler, and no request handlers; a `405`'s answer gets the
    /// `Allow` header of the path's methods.
    Fallback { allowed: Option<AllowedMethods> },
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

    /// The router's `404` or `405` handler (`allowed` for a `405`), started.
    fn fallback(action: &Action, request: HttpRequest, allowed: Option<AllowedMethods>) -> Self {
        let running = Running::Action(action.call(request.clone()));
        Pipeline { request, stages: Stages::Fallback { allowed }, running }
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
            Stages::Fallback { allowed } => Stages::Fallback { allowed },
        };
        Pipeline { request: self.request, stages, running: self.running }
    }

    /// The first handler at `from` or after it of the kind `wanted` picks, with its place.
    fn next_handler<T>(&self, from: usize, mut wanted: impl FnMut(&HandlerKind) -> Option<T>) -> Option<(usize, T)> {
        let found = |(at, handler): (usize, &RequestHandler)| wanted(&handler.kind).map(|picked| (at, picked));
        match &self.stages {
            Stages::Route { global, route } => route_handlers(global, route).enumerate().skip(from).find_map(found),
            Stages::Owned { handlers, .. } => handlers.iter().enumerate().skip(from).find_map(found),
            Stages::Fallback { .. } => None,
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
            // A fallback starts at its action and has no before handler to come from.
            Stages::Fallback { .. } => Running::Finished,
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
            None => Err(self.finished(response.take().unwrap_or_default())),
        }
    }

    /// The answer of the last stage, as the client gets it: a `405` handler's with the `Allow` header.
    fn finished(&self, response: HttpResponse) -> HttpResponse {
        match &self.stages {
            Stages::Fallback { allowed: Some(allowed) } => {
                response.with_header(http::header::ALLOW, allowed.header_value())
            }
            _ => response,
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
    log_panic(span, &panic, "; answering 500");
    HttpResponse::from_status(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Logs a handler's panic in its request's span, `then` telling what became of the request (`"; answering
/// 500"`); with no subscriber to hear it, on standard error (see `notice`).
fn log_panic(span: &tracing::Span, panic: &Box<dyn Any + Send>, then: &str) {
    let message = panic_message(panic);
    if crate::notice::unheard() {
        eprintln!("sisk error: a handler panicked ({message}){then}");
    }
    tracing::error!(parent: span, panic = %message, "handler panicked{then}");
}

/// The text a panic carries, or what it is when it carries none.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::engine::transport::{Carrier, Connection};
    use crate::http::HttpServerConfiguration;
    use crate::routing::RequestHandler;

    const LIMIT: Duration = Duration::from_secs(5);

    /// Dispatches `method path` to `router`, as the engine does, without a socket.
    async fn dispatch(router: Router, method: Method, path: &str) -> HttpResponse {
        let router = router.freeze(None).expect("a valid router");
        let server = HttpServer::new(
            HttpServerConfiguration::default(),
            vec![([127, 0, 0, 1], 5000).into()],
            Vec::new(),
            None,
            Default::default(),
            Default::default(),
        );
        let (parts, ()) = http::Request::builder().method(method).uri(path).body(()).unwrap().into_parts();
        let connection = Connection::detached(Carrier::Plain);
        let incoming = Incoming {
            parts,
            body: RequestBody::foreign(http_body_util::Empty::<Bytes>::new()),
            remote: ([127, 0, 0, 1], 40000).into(),
            transport: Transport::current(&connection),
        };
        let span = tracing::Span::none();
        let answered = async { router.dispatch(&server, incoming, &span).await.response };
        // The bound first (a timeout would poll the pipeline once more at its deadline, and so hide a
        // pipeline that was never woken).
        tokio::select! {
            biased;
            () = tokio::time::sleep(LIMIT) => panic!("the pipeline did not answer in time"),
            response = answered => response,
        }
    }

    fn allow(response: &HttpResponse) -> &str {
        response.headers["allow"].to_str().unwrap()
    }

    fn recording(log: &Arc<Mutex<Vec<&'static str>>>, name: &'static str) -> (RequestHandler, RequestHandler) {
        let (before_log, after_log) = (log.clone(), log.clone());
        let before = RequestHandler::before(move |_req| {
            before_log.lock().unwrap().push(name);
            async { None }
        });
        let after = RequestHandler::after(move |_req, response| {
            after_log.lock().unwrap().push(name);
            async { response }
        });
        (before, after)
    }

    #[tokio::test]
    async fn global_handlers_run_around_the_route_s_and_a_bypassed_one_does_not() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (global_before, global_after) = recording(&log, "global");
        let (bypassed, _) = recording(&log, "bypassed");
        let (route_before, route_after) = recording(&log, "route");
        let action_log = log.clone();
        let mut router = Router::new();
        router.add_global_request_handler(global_before).add_global_request_handler(bypassed.clone());
        router.add_global_request_handler(global_after);
        router += Route::get("/", move |_req| {
            action_log.lock().unwrap().push("action");
            async { "done" }
        })
        .with_request_handler(route_before)
        .with_request_handler(route_after)
        .bypass_global_request_handler(&bypassed);
        let response = dispatch(router, Method::GET, "/").await;
        assert_eq!(response.content(), Some(&b"done"[..]));
        assert_eq!(*log.lock().unwrap(), ["global", "route", "action", "global", "route"]);
    }

    #[tokio::test]
    async fn a_before_handler_that_answers_ends_the_pipeline() {
        let mut router = Router::new();
        router.add_global_request_handler(RequestHandler::before(|_req| async {
            Some(HttpResponse::from_status(StatusCode::UNAUTHORIZED))
        }));
        router += Route::get("/", |_req| async { unreachable!("the action never runs") as &str });
        assert_eq!(dispatch(router, Method::GET, "/").await.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_router_s_own_answers_list_the_path_s_methods() {
        let routes = || {
            let mut router = Router::new();
            router += Route::post("/items", |_req| async { "made" });
            router += Route::get("/items", |_req| async { "listed" });
            router
        };
        let refused = dispatch(routes(), Method::DELETE, "/items").await;
        assert_eq!((refused.status, allow(&refused)), (StatusCode::METHOD_NOT_ALLOWED, "GET, POST, HEAD"));
        let preflight = dispatch(routes(), Method::OPTIONS, "/items").await;
        assert_eq!((preflight.status, allow(&preflight)), (StatusCode::OK, "GET, POST, HEAD, OPTIONS"));
        let mut custom = routes();
        custom.set_method_not_allowed_handler(|_req| async { (StatusCode::METHOD_NOT_ALLOWED, "no") });
        custom.set_not_found_handler(|_req| async { (StatusCode::NOT_FOUND, "nothing here") });
        let refused = dispatch(custom, Method::DELETE, "/items").await;
        assert_eq!((refused.content(), allow(&refused)), (Some(&b"no"[..]), "GET, POST, HEAD"));
        assert_eq!(dispatch(routes(), Method::GET, "/none").await.status, StatusCode::NOT_FOUND);
        let mut custom = routes();
        custom.set_not_found_handler(|_req| async { (StatusCode::NOT_FOUND, "nothing here") });
        assert_eq!(dispatch(custom, Method::GET, "/none").await.content(), Some(&b"nothing here"[..]));
    }

    #[tokio::test]
    async fn a_panicking_action_is_a_500() {
        let mut router = Router::new();
        router += Route::get("/", |_req| async { panic!("a handler's bug") as &str });
        assert_eq!(dispatch(router, Method::GET, "/").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn a_head_committed_from_another_task_while_the_action_waits_is_answered_at_once() {
        let mut router = Router::new();
        router += Route::get("/", |req: HttpRequest| async move {
            let sse = req.get_event_source(None);
            let sender = sse.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                sender.send("first");
            });
            // Waits without touching the stream: only the other task's first event commits its head.
            tokio::time::sleep(LIMIT * 2).await;
            sse.close()
        });
        let head = dispatch(router, Method::GET, "/").await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers["content-type"], "text/event-stream; charset=utf-8");
    }
}
