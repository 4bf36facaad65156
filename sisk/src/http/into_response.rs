//! [`IntoResponse`]: what an action may return.
//!
//! There is exactly one implementation for `Result`, with `sisk::Error` as its error type. That is on
//! purpose: an async closure that uses `?` leaves its error type open, and the single impl is what lets
//! the compiler close it without annotations. Your own errors convert with `From` into `sisk::Error`
//! (see [`Error::with_status`](crate::Error::with_status)), or become responses before they are returned.

use bytes::Bytes;
use http::StatusCode;

use crate::http::{HttpContent, HttpResponse};
use crate::Error;

/// A value that becomes an [`HttpResponse`]: the output of an action.
///
/// | type | response |
/// |---|---|
/// | `HttpResponse` | itself |
/// | `&'static str`, `String` | `200`, `text/plain; charset=utf-8` |
/// | `Vec<u8>`, `Bytes`, [`HttpContent`] | `200` with that content |
/// | `StatusCode` | that status, no content |
/// | `(StatusCode, T)` | `T`'s response with that status |
/// | `()` | `200`, no content |
/// | `Result<T, sisk::Error>` | `T`'s response, or the error's ([`Error::status_code`]; below 500 the message as text, a 5xx bare — see [`Error::with_status`]) |
pub trait IntoResponse {
    /// Makes the response.
    fn into_response(self) -> HttpResponse;
}

impl IntoResponse for HttpResponse {
    fn into_response(self) -> HttpResponse {
        self
    }
}

impl IntoResponse for HttpContent {
    fn into_response(self) -> HttpResponse {
        HttpResponse::new().with_content(self)
    }
}

macro_rules! content_into_response {
    ($($t:ty),*) => {$(
        impl IntoResponse for $t {
            fn into_response(self) -> HttpResponse {
                HttpResponse::new().with_content(self)
            }
        }
    )*};
}
content_into_response!(&'static str, String, Vec<u8>, Bytes);

impl IntoResponse for StatusCode {
    fn into_response(self) -> HttpResponse {
        HttpResponse::from_status(self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> HttpResponse {
        HttpResponse::new()
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> HttpResponse {
        self.1.into_response().with_status(self.0)
    }
}

impl<T: IntoResponse> IntoResponse for Result<T, Error> {
    fn into_response(self) -> HttpResponse {
        match self {
            Ok(value) => value.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// When a client refused by a server with all its event streams open should come back: a few seconds,
/// like the reconnection delay browsers give an `EventSource` by default.
const RETRY_FULL_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

impl Error {
    /// The answer to this error, as [`into_response`](IntoResponse::into_response) gives it, without
    /// logging it: a client error's message, a server error's bare status, a full server's stream to
    /// retry.
    pub(crate) fn default_answer(&self) -> HttpResponse {
        let status = self.status_code().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.kind() == crate::ErrorKind::TooManyEventSources {
            // A full server is not a fault of the handler's (the server logged it once). A `503` would end
            // a browser's `EventSource` for good; a stream that says when to come back, then ends, is
            // retried then (`Retry-After` stays for other clients).
            let reason = "the server has all the event streams it may hold open; retry later";
            return crate::http::streams::retry_later(RETRY_FULL_AFTER, reason, http::HeaderMap::new());
        }
        if self.kind() == crate::ErrorKind::UpgradeRequired {
            // RFC 9110 §15.5.22: a 426 says what to upgrade to; RFC 6455 §4.4: and which version.
            return HttpResponse::from_status(status)
                .with_header(http::header::UPGRADE, "websocket")
                .with_header(http::header::CONNECTION, "Upgrade")
                .with_header(http::header::SEC_WEBSOCKET_VERSION, "13")
                .with_content(self.message().to_owned());
        }
        if status.is_server_error() {
            HttpResponse::from_status(status)
        } else {
            HttpResponse::from_status(status).with_content(self.message().to_owned())
        }
    }
}

impl IntoResponse for Error {
    /// Client errors (4xx) carry their message; server errors are logged and answer with the bare status,
    /// so internal details never reach the client. A router with a callback error handler
    /// ([`Router::set_callback_error_handler`](crate::routing::Router::set_callback_error_handler)) answers
    /// a handler's error itself.
    fn into_response(self) -> HttpResponse {
        let response = self.default_answer();
        if self.kind() == crate::ErrorKind::TooManyEventSources {
            return response;
        }
        if response.status.is_server_error() {
            match std::error::Error::source(&self) {
                Some(cause) => tracing::error!(error = %self, cause = ?cause, "handler returned an error"),
                None => tracing::error!(error = %self, "handler returned an error"),
            }
        }
        // The router's callback error handler, if it has one, answers instead.
        response.answering(self)
    }
}
