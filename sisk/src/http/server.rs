//! [`HttpServer`]: the handle of a running server — its configuration, its address, its event sources,
//! and the switch that stops it. Cheap to clone; every request carries one (`req.server()`).

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backplane::Backplane;
use crate::engine::limits::{OpenCount, OpenSlot};
use crate::http::app_state::AppState;
use crate::http::handlers::ServerHandlers;
use crate::http::streams::HttpEventSourceCollection;
use crate::http::{HttpServerConfiguration, HttpServerHostContextBuilder};
use crate::Error;

/// A handle to a server that does not keep it alive (the collection holds one to make handles on the
/// connections of other nodes).
#[derive(Debug, Clone)]
pub(crate) struct WeakServer(Weak<ServerShared>);

impl WeakServer {
    /// The server, while it exists.
    pub(crate) fn upgrade(&self) -> Option<HttpServer> {
        self.0.upgrade().map(|shared| HttpServer { shared })
    }
}

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
///         let _ = server.event_sources().broadcast(&Event::new().data("hello"));
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
    /// What the program gave the builder's `use_state`.
    state: AppState,
    /// What the program gave the builder's `use_handler`, in order.
    handlers: ServerHandlers,
    event_sources: HttpEventSourceCollection,
    #[cfg(feature = "websockets")]
    web_sockets: crate::http::websockets::HttpWebSocketCollection,
    /// The bound address of each listener, the builder's own first.
    local_addrs: Vec<SocketAddr>,
    /// Each listening port as a URL, with the port really bound.
    listening_prefixes: Vec<String>,
    stopping: CancellationToken,
    /// Cancelled when the shutdown timeout passes: every connection and handler still running is dropped.
    abandoned: CancellationToken,
    streaming_tasks: TaskTracker,
    connections: Arc<OpenCount>,
    event_streams: Arc<OpenCount>,
}

impl HttpServer {
    /// Starts describing a server: port, router, configuration, CORS.
    pub fn create_builder() -> HttpServerHostContextBuilder {
        HttpServerHostContextBuilder::new()
    }

    pub(crate) fn new(
        configuration: HttpServerConfiguration,
        local_addrs: Vec<SocketAddr>,
        listening_prefixes: Vec<String>,
        backplane: Option<Arc<dyn Backplane>>,
        state: AppState,
        handlers: ServerHandlers,
    ) -> Self {
        let event_sources =
            HttpEventSourceCollection::new(configuration.event_log.clone(), configuration.identifier_policy, backplane);
        let shared = ServerShared {
            state,
            handlers,
            #[cfg(feature = "websockets")]
            web_sockets: crate::http::websockets::HttpWebSocketCollection::new(
                configuration.identifier_policy,
                event_sources.clone(),
            ),
            event_sources,
            connections: OpenCount::new(configuration.maximum_connections),
            event_streams: OpenCount::new(configuration.maximum_event_sources),
            configuration,
            local_addrs,
            listening_prefixes,
            stopping: CancellationToken::new(),
            abandoned: CancellationToken::new(),
            streaming_tasks: TaskTracker::new(),
        };
        let server = HttpServer { shared: Arc::new(shared) };
        server.shared.event_sources.belongs_to(WeakServer(Arc::downgrade(&server.shared)));
        server
    }

    /// The value of type `T` the program gave the builder's
    /// [`use_state`](crate::http::HttpServerHostContextBuilder::use_state), or an error
    /// ([`ErrorKind::StateMissing`](crate::ErrorKind::StateMissing), a `500`) that says how to give one.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.shared.state.get()
    }

    /// The server's handlers, in order.
    pub(crate) fn handlers(&self) -> &ServerHandlers {
        &self.shared.handlers
    }

    /// The open, identified Server-Sent Events connections.
    pub fn event_sources(&self) -> &HttpEventSourceCollection {
        &self.shared.event_sources
    }

    /// The open, identified WebSockets.
    #[cfg(feature = "websockets")]
    pub fn web_sockets(&self) -> &crate::http::websockets::HttpWebSocketCollection {
        &self.shared.web_sockets
    }

    /// The configuration the server was built with.
    pub fn configuration(&self) -> &HttpServerConfiguration {
        &self.shared.configuration
    }

    /// The address the server is bound to (with the real port when port 0 was asked for): of its own
    /// listening port or listener when it has [listening hosts](crate::http::ListeningHost) too (see
    /// [`local_addrs`](Self::local_addrs)); `0.0.0.0:0` for a server made into a service, which another
    /// server runs.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addrs.first().copied().unwrap_or(crate::http::http_service::NO_ADDRESS)
    }

    /// Every address the server is bound to, one per listener: the builder's own port (or listener)
    /// first, then the ports of the [listening hosts](crate::http::ListeningHost) in the order they were
    /// added, a port shared by several hosts once. Empty for a server made into a service.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.shared.local_addrs
    }

    /// Every listening port as a URL, with the port really bound (`http://localhost:5000/`), in the
    /// order of [`local_addrs`](Self::local_addrs) but one per host of a shared port (Sisk's
    /// `ListeningPrefixes`).
    pub fn listening_prefixes(&self) -> &[String] {
        &self.shared.listening_prefixes
    }

    /// How many connections are open now (see
    /// [`maximum_connections`](HttpServerConfiguration::maximum_connections)).
    pub fn open_connections(&self) -> usize {
        self.shared.connections.open()
    }

    /// How many event streams are open now, with or without an identifier (see
    /// [`maximum_event_sources`](HttpServerConfiguration::maximum_event_sources)).
    pub fn open_event_streams(&self) -> usize {
        self.shared.event_streams.open()
    }

    /// A place for one more connection, or `None` when the server is full (logged once each time it
    /// becomes full).
    pub(crate) fn connection_slot(&self) -> Option<OpenSlot> {
        let connections = &self.shared.connections;
        let slot = connections.try_open();
        if slot.is_none() && connections.first_refusal() {
            tracing::warn!(
                maximum = connections.maximum(),
                "the server is full: new connections are closed until one of the open ones ends \
                 (HttpServerConfiguration::maximum_connections)"
            );
        }
        slot
    }

    /// A place for one more event stream, or the error that refuses it (logged once each time the
    /// server becomes full).
    pub(crate) fn event_stream_slot(&self) -> Result<OpenSlot, crate::Error> {
        let streams = &self.shared.event_streams;
        streams.try_open().ok_or_else(|| {
            let error = crate::Error::too_many_event_sources(streams.maximum());
            if streams.first_refusal() {
                tracing::warn!(%error, "event streams are refused with 503 until one of the open ones ends");
            }
            error
        })
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

    /// Starts the backplane, if the server has one, feeding its shared log into this server (once: by
    /// `start`, or by the tower service's first request).
    pub(crate) async fn start_backplane(&self) {
        if let Some(backplane) = self.event_sources().backplane() {
            #[cfg(feature = "websockets")]
            self.web_sockets().listen_to_backplane();
            backplane.clone().start(crate::backplane::SharedLog::new(self.clone())).await;
        }
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
