//! The router's callback error handler (Sisk's `Router.CallbackErrorHandler`): one function that gets
//! what went wrong in a route's stages — an [`Error`] a handler returned, or a panic's message — with the
//! request, and returns the answer. Without one, or when it panics, the answer is sisk's own: a client
//! error's message, a server error's bare status, a panic's `500`, so nothing of a failure leaks unless
//! the handler says so.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use http::StatusCode;

use crate::http::{HttpRequest, HttpResponse, IntoResponse};
use crate::Error;

/// What went wrong while a route answered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HandlerFailure {
    /// A handler (or the route's before or after handlers) returned this error.
    Error(Error),
    /// A handler panicked with this message (before any event stream of the request began).
    Panic(String),
}

impl HandlerFailure {
    /// The error, when a handler returned one.
    pub fn error(&self) -> Option<&Error> {
        match self {
            HandlerFailure::Error(error) => Some(error),
            HandlerFailure::Panic(_) => None,
        }
    }

    /// What went wrong, in words: the error's message, or the panic's.
    pub fn message(&self) -> &str {
        match self {
            HandlerFailure::Error(error) => error.message(),
            HandlerFailure::Panic(message) => message,
        }
    }

    /// The status sisk answers it with: the error's own (`500` for one without), `500` for a panic.
    pub fn status_code(&self) -> StatusCode {
        self.error().and_then(Error::status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The answer sisk gives without a callback error handler: a client error's message, a server
    /// error's bare status.
    pub fn default_response(&self) -> HttpResponse {
        match self {
            HandlerFailure::Error(error) => error.default_answer(),
            HandlerFailure::Panic(_) => HttpResponse::from_status(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerFailure::Error(error) => write!(f, "{error}"),
            HandlerFailure::Panic(message) => write!(f, "a handler panicked: {message}"),
        }
    }
}

type Callback = dyn Fn(&HandlerFailure, &HttpRequest) -> HttpResponse + Send + Sync;

/// A router's callback error handler.
#[derive(Clone)]
pub(crate) struct CallbackErrorHandler(Arc<Callback>);

impl fmt::Debug for CallbackErrorHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackErrorHandler")
    }
}

impl CallbackErrorHandler {
    pub(crate) fn new<F, R>(handler: F) -> Self
    where
        F: Fn(&HandlerFailure, &HttpRequest) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        CallbackErrorHandler(Arc::new(move |failure, request| handler(failure, request).into_response()))
    }

    /// The answer to `failure` of `request`; sisk's own when the handler itself panics (logged in `span`).
    pub(crate) fn answer(&self, failure: &HandlerFailure, request: &HttpRequest, span: &tracing::Span) -> HttpResponse {
        match std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(failure, request))) {
            Ok(response) => response.without_failure(),
            Err(_) => {
                tracing::error!(parent: span, "the callback error handler panicked; answering as sisk does");
                failure.default_response()
            }
        }
    }
}
