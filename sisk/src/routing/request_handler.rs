//! [`RequestHandler`]: Sisk's request handlers (what other frameworks call middleware), run before the
//! action (able to answer early) or after it (able to change or replace the response).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::http::{HttpRequest, HttpResponse};

type BeforeFn = dyn Fn(HttpRequest) -> Pin<Box<dyn Future<Output = Option<HttpResponse>> + Send>> + Send + Sync;
type AfterFn = dyn Fn(HttpRequest, HttpResponse) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync;

/// When a [`RequestHandler`] runs, relative to the route's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestHandlerExecutionMode {
    /// Before the action; the handler may answer the request itself.
    BeforeResponse,
    /// After the action; the handler receives the response and returns the one to send.
    AfterResponse,
}

/// A request handler, global ([`Router::add_global_request_handler`](crate::routing::Router::add_global_request_handler))
/// or per route ([`Route::with_request_handler`](crate::routing::Route::with_request_handler)).
///
/// Global handlers run first (but those the route [bypasses](crate::routing::Route::bypass_global_request_handler)),
/// then the route's, in the order they were added. As in Sisk, a *before* handler that returns
/// `Some(response)` answers the request and ends the pipeline: the remaining *before* handlers, the action
/// and the *after* handlers are skipped. Every *after* handler receives the response and returns the one
/// to send. Values for the action go in the request's [bag](HttpRequest::bag). On attribute routes,
/// [`#[request_handler(…)]`](crate::request_handler) adds one.
///
/// ```
/// use sisk::prelude::*;
///
/// let authenticate = RequestHandler::before(|req: HttpRequest| async move {
///     match req.header("authorization") {
///         Some(token) if token == "Bearer secret" => {
///             req.bag().set(String::from("alice"));
///             None
///         }
///         _ => Some(HttpResponse::new().with_status(StatusCode::UNAUTHORIZED)),
///     }
/// });
/// let stamp = RequestHandler::after(|_req, res: HttpResponse| async move {
///     res.with_header("X-Served-By", "sisk")
/// });
///
/// let mut r = Router::new();
/// r.add_global_request_handler(stamp);
/// r += Route::get("/me", |req: HttpRequest| async move {
///     format!("hello {}", req.bag().get::<String>().unwrap_or_default())
/// })
/// .with_request_handler(authenticate);
/// ```
#[derive(Clone)]
pub struct RequestHandler {
    pub(crate) kind: HandlerKind,
}

#[derive(Clone)]
pub(crate) enum HandlerKind {
    Before(Arc<BeforeFn>),
    After(Arc<AfterFn>),
}

impl RequestHandler {
    /// A handler that runs before the action; `Some(response)` answers the request.
    pub fn before<F, Fut>(handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<HttpResponse>> + Send + 'static,
    {
        let kind = HandlerKind::Before(Arc::new(move |req| Box::pin(handler(req))));
        RequestHandler { kind }
    }

    /// A handler that runs after the action with its response, and returns the response to send.
    pub fn after<F, Fut>(handler: F) -> Self
    where
        F: Fn(HttpRequest, HttpResponse) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        let kind = HandlerKind::After(Arc::new(move |req, res| Box::pin(handler(req, res))));
        RequestHandler { kind }
    }

    /// True when both are the same handler: one made by `before`/`after` and its clones.
    pub(crate) fn is_same_instance(&self, other: &RequestHandler) -> bool {
        match (&self.kind, &other.kind) {
            (HandlerKind::Before(a), HandlerKind::Before(b)) => Arc::ptr_eq(a, b),
            (HandlerKind::After(a), HandlerKind::After(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// When this handler runs.
    pub fn execution_mode(&self) -> RequestHandlerExecutionMode {
        match self.kind {
            HandlerKind::Before(_) => RequestHandlerExecutionMode::BeforeResponse,
            HandlerKind::After(_) => RequestHandlerExecutionMode::AfterResponse,
        }
    }
}

impl std::fmt::Debug for RequestHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHandler").field("execution_mode", &self.execution_mode()).finish()
    }
}
