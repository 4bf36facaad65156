//! Route actions: the async functions that answer requests, boxed so that routes of any closure type
//! can live in one router.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::http::{HttpRequest, HttpResponse, IntoResponse};

/// A boxed, type-erased future that yields the response of an action.
pub(crate) type ResponseFuture = Pin<Box<dyn Future<Output = HttpResponse> + Send + 'static>>;

/// A type-erased action: what a [`Route`](crate::routing::Route) runs.
#[derive(Clone)]
pub(crate) struct Action(Arc<dyn Fn(HttpRequest) -> ResponseFuture + Send + Sync + 'static>);

impl Action {
    /// Boxes an async function of a request whose output becomes a response.
    ///
    /// The bounds sit on the generic parameters themselves (not behind a helper trait) so that the
    /// compiler infers a closure's argument and output types from them: `|req| async move { …? }` then
    /// compiles with no annotations, its error type fixed to `sisk::Error` by the single `Result` impl
    /// of [`IntoResponse`].
    pub(crate) fn new<F, Fut, R>(action: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResponse,
    {
        Action(Arc::new(move |req| {
            let fut = action(req);
            Box::pin(async move { fut.await.into_response() })
        }))
    }

    pub(crate) fn call(&self, req: HttpRequest) -> ResponseFuture {
        (self.0)(req)
    }
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Action")
    }
}
