//! [`HttpServerHostContextBuilder`] and [`HttpServerHostContext`]: describe a server, bind it, and run
//! it until a shutdown signal, then stop it gracefully.

use std::future::Future;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::http::service::App;
use crate::http::{
    CrossOriginResourceSharingHeaders, HttpServer, HttpServerConfiguration, IntoListeningPort, ListeningPort,
};
use crate::routing::Router;
use crate::Error;

/// The environment variable that overrides the listening port at `build`.
pub const LISTENING_PORT_VARIABLE: &str = "SISK_LISTENING_PORT";

/// Describes a server before it is bound; made by [`HttpServer::create_builder`].
#[derive(Debug)]
pub struct HttpServerHostContextBuilder {
    port: Result<ListeningPort, Error>,
    router: Router,
    configuration: HttpServerConfiguration,
    cors: Option<CrossOriginResourceSharingHeaders>,
}

impl HttpServerHostContextBuilder {
    pub(crate) fn new() -> Self {
        HttpServerHostContextBuilder {
            port: Ok(ListeningPort::new("localhost", 5000)),
            router: Router::new(),
            configuration: HttpServerConfiguration::default(),
            cors: None,
        }
    }

    /// Where to listen (default `http://localhost:5000/`). An invalid value is reported by `build`.
    ///
    /// The environment variable `SISK_LISTENING_PORT`, when set, overrides this at `build` (as
    /// `ASPNETCORE_URLS` does for ASP.NET): deployments and tests move a program without editing it.
    pub fn use_listening_port(mut self, port: impl IntoListeningPort) -> Self {
        self.port = port.into_listening_port();
        self
    }

    /// The routes to serve.
    pub fn use_router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// Changes the configuration in place.
    pub fn use_configuration(mut self, configure: impl FnOnce(&mut HttpServerConfiguration)) -> Self {
        configure(&mut self.configuration);
        self
    }

    /// Applies a CORS policy to every response and answers preflight requests.
    pub fn use_cors(mut self, cors: CrossOriginResourceSharingHeaders) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Checks the router and binds the port. Fails on an invalid port, a port already in use, or a
    /// router error kept by `+=` (an invalid path, two colliding routes).
    pub fn build(self) -> Result<HttpServerHostContext, Error> {
        let router = self.router.freeze()?;
        let port = match std::env::var(LISTENING_PORT_VARIABLE) {
            Ok(url) => ListeningPort::parse(&url)?,
            Err(_) => self.port?,
        };
        let listener = std::net::TcpListener::bind(port.socket_addr()?)
            .map_err(|e| Error::io(&format!("cannot listen on {port}"), e))?;
        listener.set_nonblocking(true).map_err(|e| Error::io("cannot make the listener non-blocking", e))?;
        let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
        let server = HttpServer::new(self.configuration, local_addr);
        let app = Arc::new(App { server: server.clone(), router, cors: self.cors });
        Ok(HttpServerHostContext { app, listener })
    }
}

/// A bound server, ready to start.
#[derive(Debug)]
pub struct HttpServerHostContext {
    app: Arc<App>,
    listener: std::net::TcpListener,
}

impl HttpServerHostContext {
    /// The server's handle (clone it before `start` to reach the server from elsewhere).
    pub fn server(&self) -> HttpServer {
        self.app.server.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.app.server.local_addr()
    }

    /// Serves until Ctrl-C, SIGTERM or [`HttpServer::stop`], then shuts down gracefully.
    pub async fn start(self) -> Result<(), Error> {
        self.start_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` resolves or [`HttpServer::stop`] is called, then shuts down gracefully:
    /// stops accepting, closes every event stream cleanly, and waits up to
    /// [`shutdown_timeout`](HttpServerConfiguration::shutdown_timeout) for requests and handlers to finish.
    pub async fn start_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let server = self.app.server.clone();
        let config = server.configuration().clone();
        let listener =
            TcpListener::from_std(self.listener).map_err(|e| Error::io("cannot register the listener", e))?;
        tracing::info!("listening on http://{}/", server.local_addr());

        let mut connections = auto::Builder::new(TokioExecutor::new());
        connections
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .max_buf_size(config.maximum_header_size.max(8192));
        connections
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(config.maximum_header_size).unwrap_or(u32::MAX));
        let graceful = GracefulShutdown::new();

        tokio::pin!(signal);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of descriptors or a connection reset before accept: wait a moment, go on.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                },
                () = &mut signal => break,
                () = server.stopping().cancelled() => break,
            };
            let _ = stream.set_nodelay(true);
            let app = self.app.clone();
            let abort = server.abandoned().child_token();
            let abort_handle = abort.clone();
            let service = hyper::service::service_fn(move |request| {
                let app = app.clone();
                let abort = abort_handle.clone();
                async move { Ok::<_, std::convert::Infallible>(app.handle(request, remote, abort).await) }
            });
            let connection = graceful.watch(connections.serve_connection(TokioIo::new(stream), service).into_owned());
            tokio::spawn(async move {
                tokio::select! {
                    result = connection => if let Err(err) = result {
                        tracing::debug!(error = %err, %remote, "connection ended with an error");
                    },
                    () = abort.cancelled() => tracing::debug!(%remote, "connection cut off"),
                }
            });
        }

        drop(listener);
        tracing::info!("shutting down");
        server.stop();
        server.event_sources().drop_all();
        let tasks = server.streaming_tasks();
        tasks.close();
        let drained = async {
            graceful.shutdown().await;
            tasks.wait().await;
        };
        if tokio::time::timeout(config.shutdown_timeout, drained).await.is_err() {
            tracing::warn!(timeout = ?config.shutdown_timeout, "shutdown timeout passed; dropping what is left");
            server.abandoned().cancel();
            // The cut connections and handlers end at their next poll; give them a moment to do so.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), tasks.wait()).await;
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
