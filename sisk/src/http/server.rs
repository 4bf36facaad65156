//! [`HttpServer`]: the handle of a running server — its configuration, its address, its event sources,
//! and the switch that stops it. Cheap to clone; every request carries one (`req.server()`).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backplane::Backplane;
use crate::http::streams::HttpEventSourceCollection;
use crate::http::{HttpServerConfiguration, HttpServerHostContextBuilder};

/// A handle to a server: clone it freely and keep it anywhere (a background task, another handler).
///
/// ```no_run
/// use sisk::prelude::*;
///
/// #[tokio::main]
/// async fn main() -> Result<(), sisk::Error> {
///     let mut r = Router::new();
///     r += Route::new(RouteMethod::Get, "/", |_req| async { "Olá, mundo!" });
///     let app = HttpServer::create_builder()
///         .use_listening_port("http://localhost:5000/")
///         .use_router(r)
///         .build()?;
///     let server = app.server();
///     tokio::spawn(async move {
///         // Anywhere in the program: talk to open event streams.
///         server.event_sources().broadcast(&Event::new().data("hello"));
///     });
///     app.start().await
/// }
/// ```
#[derive(Debug, Clone)]
pub struct HttpServer {
    shared: Arc<ServerShared>,
}

#[derive(Debug)]
struct ServerShared {
    configuration: HttpServerConfiguration,
    event_sources: HttpEventSourceCollection,
    local_addr: SocketAddr,
    stopping: CancellationToken,
    /// Cancelled when the shutdown timeout passes: every connection and handler still running is dropped.
    abandoned: CancellationToken,
    streaming_tasks: TaskTracker,
}

impl HttpServer {
    /// Starts describing a server: port, router, configuration, CORS.
    pub fn create_builder() -> HttpServerHostContextBuilder {
        HttpServerHostContextBuilder::new()
    }

    pub(crate) fn new(
        configuration: HttpServerConfiguration,
        local_addr: SocketAddr,
        backplane: Option<Arc<dyn Backplane>>,
    ) -> Self {
        let shared = ServerShared {
            event_sources: HttpEventSourceCollection::new(configuration.event_log.clone(), backplane),
            configuration,
            local_addr,
            stopping: CancellationToken::new(),
            abandoned: CancellationToken::new(),
            streaming_tasks: TaskTracker::new(),
        };
        HttpServer { shared: Arc::new(shared) }
    }

    /// The open, identified Server-Sent Events connections.
    pub fn event_sources(&self) -> &HttpEventSourceCollection {
        &self.shared.event_sources
    }

    /// The configuration the server was built with.
    pub fn configuration(&self) -> &HttpServerConfiguration {
        &self.shared.configuration
    }

    /// The address the server is bound to (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Begins a graceful shutdown: no new connections; every event stream is closed cleanly (its waits
    /// return); requests in flight may finish until the configured shutdown timeout.
    pub fn stop(&self) {
        self.shared.stopping.cancel();
    }

    /// True once [`stop`](HttpServer::stop) was called or a shutdown signal arrived.
    pub fn is_stopping(&self) -> bool {
        self.shared.stopping.is_cancelled()
    }

    /// Resolves when the server begins to stop.
    pub(crate) fn stopping(&self) -> &CancellationToken {
        &self.shared.stopping
    }

    /// Resolves when the shutdown timeout has passed and what still runs is dropped.
    pub(crate) fn abandoned(&self) -> &CancellationToken {
        &self.shared.abandoned
    }

    /// Handlers that go on after their event stream's head was sent run here, so shutdown can wait for them.
    pub(crate) fn streaming_tasks(&self) -> &TaskTracker {
        &self.shared.streaming_tasks
    }
}
