//! [`HttpServerHandler`]: code of the program that the server calls at the moments of its own life and of
//! every request's (Sisk's `HttpServerHandler`).

use crate::http::handlers::HttpServerExecutionResult;
use crate::http::{HttpRequest, HttpServer};
use crate::routing::{HandlerFailure, Router};

/// Hooks the server calls at the moments of its life and of every request's, given to the builder with
/// [`use_handler`](crate::http::HttpServerHostContextBuilder::use_handler) (Sisk's `UseHandler`).
///
/// Every method has an empty default: implement the ones you need. A server may have several handlers;
/// each hook calls them in the order they were given. The hooks are synchronous, as Sisk's are, and run
/// on the task serving the request (or starting the server): keep them short, and hand slow work to a
/// task of its own. A hook that panics is logged and does nothing else: the other handlers still run,
/// and the request or the server goes on.
///
/// Unlike request handlers, a server handler sees every request of the server, those answered by the
/// router's own `404` and `405` included; conditions go inside the hook.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use sisk::http::handlers::{HttpServerExecutionResult, HttpServerHandler};
/// use sisk::prelude::*;
///
/// /// Counts the requests that ended with a server error.
/// #[derive(Default)]
/// struct ServerErrors(AtomicU64);
///
/// impl HttpServerHandler for ServerErrors {
///     fn on_http_request_close(&self, result: &HttpServerExecutionResult) {
///         if result.status_code().is_server_error() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let builder = HttpServer::create_builder().use_handler(ServerErrors::default());
/// # let _ = builder;
/// ```
pub trait HttpServerHandler: Send + Sync + 'static {
    /// Called when the server is about to start, before it accepts its first connection.
    fn on_server_starting(&self, server: &HttpServer) {
        let _ = server;
    }

    /// Called once the server listens and accepts connections.
    fn on_server_started(&self, server: &HttpServer) {
        let _ = server;
    }

    /// Called when the server begins to stop (a shutdown signal, or [`HttpServer::stop`]): it no longer
    /// accepts connections, and requests in flight may still finish.
    fn on_server_stopping(&self, server: &HttpServer) {
        let _ = server;
    }

    /// Called once the server has stopped: every connection is closed and every handler has ended (or
    /// was dropped at the shutdown timeout).
    fn on_server_stopped(&self, server: &HttpServer) {
        let _ = server;
    }

    /// Called with the server's router while the server is built, before the router is frozen: a
    /// handler may add its own routes or request handlers here (Sisk's `OnSetupRouter`).
    fn on_setup_router(&self, router: &mut Router) {
        let _ = router;
    }

    /// Called when a request has arrived, before any of its request handlers or its action runs. Its
    /// [`bag`](HttpRequest::bag) may be filled here for the stages to come.
    fn on_http_request_open(&self, request: &HttpRequest) {
        let _ = request;
    }

    /// Called when a request has been answered: once its response's last byte has been handed to the
    /// connection, or the client left before it (for an event stream, when the stream ends). The result
    /// tells which, with the status, the sizes, the time it took and the failure, if any.
    fn on_http_request_close(&self, result: &HttpServerExecutionResult) {
        let _ = result;
    }

    /// Called when a handler failed: it returned an [`Error`](crate::Error) or panicked. It is called
    /// whether or not the router's callback error handler answers the failure, and before it does.
    fn on_exception(&self, failure: &HandlerFailure) {
        let _ = failure;
    }
}
