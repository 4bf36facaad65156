//! [`HttpService`]: sisk's whole request pipeline — routing, request handlers, CORS, limits, event
//! streams — as a `tower::Service`, for another server to run: nested in an axum app, wrapped in
//! tower-http layers, or served by any hyper server.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::Scheme;
use http_body::Body;
use tokio::sync::OnceCell;

use crate::engine::request_body::{BoxError, RequestBody};
use crate::engine::service::App;
use crate::engine::transport::{Carrier, Connection};
use crate::http::{HttpServer, ResponseBody};

/// sisk's request pipeline as a [`tower_service::Service`], made by
/// [`into_service`](crate::http::HttpServerHostContextBuilder::into_service). Cheap to clone; every
/// clone serves the same routes and shares one [`HttpServer`] (its event sources, its configuration).
///
/// The server that runs it owns the connections, so what sisk does per connection is its business:
/// accepting, TLS, timeouts on request heads, the connection limit. An event stream's body is streamed
/// as it is written; a client that stops reading has its stream ended (sisk cannot cut a connection it
/// does not own). [`HttpRequest::remote_address`](crate::http::HttpRequest::remote_address) is the
/// request's `SocketAddr` extension when a layer inserted one, else `0.0.0.0:0`; a request is secure
/// when its URI says `https`. Call [`server().stop()`](HttpServer::stop) when the host shuts down, so
/// event streams end cleanly.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sisk::Error> {
/// use sisk::prelude::*;
/// use tower_service::Service;
///
/// let mut r = Router::new();
/// r += Route::get("/hello", |_req| async { "Olá, mundo!" });
/// let mut service = HttpServer::create_builder().use_router(r).into_service()?;
///
/// let request = http::Request::get("/hello").body(String::new()).unwrap();
/// let response = service.call(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HttpService {
    app: Arc<App>,
    /// Set once the backplane, if any, has started (on the first request).
    backplane_started: Arc<OnceCell<()>>,
}

/// The address of a server that is not bound, and of a client whose address no layer gave.
pub(crate) const NO_ADDRESS: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl HttpService {
    pub(crate) fn new(app: Arc<App>) -> Self {
        HttpService { app, backplane_started: Arc::default() }
    }

    /// The server behind the service: its event sources, its configuration, its stop switch.
    pub fn server(&self) -> &HttpServer {
        &self.app.server
    }
}

impl<B> tower_service::Service<http::Request<B>> for HttpService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (app, backplane_started) = (self.app.clone(), self.backplane_started.clone());
        Box::pin(async move {
            backplane_started.get_or_init(|| app.server.start_backplane()).await;
            let remote = request.extensions().get::<SocketAddr>().copied().unwrap_or(NO_ADDRESS);
            let carrier = if request.uri().scheme() == Some(&Scheme::HTTPS) { Carrier::Tls } else { Carrier::Plain };
            let connection = Connection::detached(carrier);
            let request = request.map(RequestBody::foreign);
            Ok(app.handle(request, remote, &connection).await)
        })
    }
}
