//! [`HttpServerHostContextBuilder`] and [`HttpServerHostContext`]: describe a server — its own port and
//! router, and any [`ListeningHost`]s besides — bind it (or take a listener already bound), and run it
//! until a shutdown signal (the binding is in `binding`, the serving itself in `serve`).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::backplane::Backplane;
use crate::engine::host_routing::HostRouting;
use crate::engine::serve::{serve, shutdown_signal, Listening, Protocols, Security};
use crate::engine::service::App;
use crate::http::app_state::AppState;
use crate::http::binding::{Binding, Bound, Wanted};
use crate::http::handlers::{HandlerList, HttpServerHandler};
use crate::http::streams::LocalEventSource;
use crate::http::{
    CrossOriginResourceSharingHeaders, ForwardingResolver, HttpServer, HttpServerConfiguration, HttpService,
    IntoListeningPort, ListeningHost, ListeningPort,
};
use crate::notice::{notice, Notice};
use crate::routing::Router;
use crate::Error;

/// The environment variable that overrides the listening port at `build` (see
/// [`HttpServerHostContextBuilder`] for the order of precedence).
pub const LISTENING_PORT_VARIABLE: &str = "SISK_LISTENING_PORT";

/// Describes a server before it is bound; made by [`HttpServer::create_builder`].
///
/// Where it listens, in this order of precedence: a listener handed to
/// [`use_listener`](Self::use_listener), then the environment variable `SISK_LISTENING_PORT` when it
/// is set (as `ASPNETCORE_URLS` for ASP.NET: a deployment or a test moves a program without editing it),
/// then [`use_listening_port`](Self::use_listening_port), then `http://localhost:5000/`. `build` logs
/// which one it used, and an override of a port set in code; a program that must listen where its code
/// says (a second server in the same process, say) calls
/// [`ignore_listening_port_variable`](Self::ignore_listening_port_variable). The variable moves the
/// builder's own port only, never the ports of a [`ListeningHost`].
pub struct HttpServerHostContextBuilder {
    port: Result<ListeningPort, Error>,
    /// Whether `use_listening_port` was called (for the log line when the variable overrides it).
    port_set_in_code: bool,
    /// Set by `ignore_listening_port_variable`.
    ignore_port_variable: bool,
    listener: Option<Result<std::net::TcpListener, Error>>,
    #[cfg(feature = "tls")]
    ssl: Option<crate::http::SslCertificate>,
    router: Router,
    /// The listening hosts besides the builder's own port and router.
    hosts: Vec<ListeningHost>,
    configuration: HttpServerConfiguration,
    cors: Option<CrossOriginResourceSharingHeaders>,
    backplane: Option<Arc<dyn Backplane>>,
    state: AppState,
    handlers: HandlerList,
    registered_hooks: Vec<EventSourceHook>,
    unregistered_hooks: Vec<EventSourceHook>,
}

/// A hook on the event-source collection, given to the builder.
type EventSourceHook = Box<dyn Fn(&LocalEventSource) + Send + Sync>;

impl std::fmt::Debug for HttpServerHostContextBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerHostContextBuilder")
            .field("port", &self.port)
            .field("listener", &self.listener)
            .field("router", &self.router)
            .field("hosts", &self.hosts)
            .field("configuration", &self.configuration)
            .field("cors", &self.cors)
            .field("backplane", &self.backplane)
            .field("state", &self.state)
            .field("handlers", &self.handlers)
            .field("registered_hooks", &self.registered_hooks.len())
            .field("unregistered_hooks", &self.unregistered_hooks.len())
            .finish()
    }
}

impl HttpServerHostContextBuilder {
    pub(crate) fn new() -> Self {
        HttpServerHostContextBuilder {
            port: Ok(ListeningPort::new("localhost", 5000)),
            port_set_in_code: false,
            ignore_port_variable: false,
            listener: None,
            #[cfg(feature = "tls")]
            ssl: None,
            router: Router::new(),
            hosts: Vec::new(),
            configuration: HttpServerConfiguration::default(),
            cors: None,
            backplane: None,
            state: AppState::default(),
            handlers: HandlerList::default(),
            registered_hooks: Vec::new(),
            unregistered_hooks: Vec::new(),
        }
    }

    /// Where to listen (default `http://localhost:5000/`). An invalid value is reported by `build`.
    ///
    /// The environment variable `SISK_LISTENING_PORT`, when set, takes precedence (see the
    /// [order of precedence](Self)).
    pub fn use_listening_port(mut self, port: impl IntoListeningPort) -> Self {
        self.port = port.into_listening_port();
        self.port_set_in_code = true;
        self
    }

    /// Listens where the code says even when `SISK_LISTENING_PORT` is set.
    pub fn ignore_listening_port_variable(mut self) -> Self {
        self.ignore_port_variable = true;
        self
    }

    /// Serves on `listener`, a socket already bound (by a test on port 0, by systemd socket activation,
    /// by a supervisor that hands sockets over), instead of binding the listening port. The listening
    /// port and `SISK_LISTENING_PORT` are then not used; the connections are TLS when
    /// `use_ssl` was called (the `tls` feature).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sisk::Error> {
    /// use sisk::prelude::*;
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let app = HttpServer::create_builder().use_listener(listener).build()?;
    /// assert_ne!(app.local_addr().port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn use_listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener.into_std().map_err(|e| Error::io("cannot take over the listener", e)));
        self
    }

    /// Serves over TLS with `certificate` (an [`SslCertificate`](crate::http::SslCertificate) read from
    /// PEM files, or a [`DevelopmentCertificate`](crate::http::DevelopmentCertificate)): the listening
    /// port must then be `https://`. ALPN offers HTTP/2 and HTTP/1.1. Needs the `tls` feature.
    #[cfg(feature = "tls")]
    pub fn use_ssl(mut self, certificate: impl Into<crate::http::SslCertificate>) -> Self {
        self.ssl = Some(certificate.into());
        self
    }

    /// The routes to serve.
    pub fn use_router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// Serves `host` too: its ports, with its router and CORS policy, in the same server (Sisk's
    /// `ListeningHosts.Add`) — one configuration, one
    /// [`event_sources()`](HttpServer::event_sources) collection, one backplane, one shutdown. See
    /// [`ListeningHost`] for how hosts sharing a port are told apart; `build` refuses hosts that cannot
    /// be (one address, one name) and an address shared over `http://` and `https://`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sisk::Error> {
    /// use sisk::http::ListeningHost;
    /// use sisk::prelude::*;
    ///
    /// let mut public = Router::new();
    /// public += Route::get("/", |_req| async { "Hello from the host A!" });
    /// let mut private = Router::new();
    /// private += Route::get("/", |_req| async { "Hello from the host B!" });
    /// let app = HttpServer::create_builder()
    ///     .use_listening_port("http://127.0.0.1:0/")
    ///     # .ignore_listening_port_variable()
    ///     .use_router(public)
    ///     .add_listening_host(ListeningHost::new("http://127.0.0.1:0/", private))
    ///     .build()?;
    /// let server = app.server();
    /// assert_eq!(server.local_addrs().len(), 2);
    /// println!("Try to reach host A in {}", server.listening_prefixes()[0]);
    /// println!("Try to reach host B in {}", server.listening_prefixes()[1]);
    /// # Ok(())
    /// # }
    /// ```
    #[doc(alias = "ListeningHosts")]
    pub fn add_listening_host(mut self, host: ListeningHost) -> Self {
        self.hosts.push(host);
        self
    }

    /// Changes the configuration in place.
    pub fn use_configuration(mut self, configure: impl FnOnce(&mut HttpServerConfiguration)) -> Self {
        configure(&mut self.configuration);
        self
    }

    /// Believes the forwarding headers of requests that come from the proxies `resolver` trusts (Sisk's
    /// `UseForwardingResolver`): it sets
    /// [`forwarding_resolver`](HttpServerConfiguration::forwarding_resolver) of the configuration.
    pub fn use_forwarding_resolver(mut self, resolver: ForwardingResolver) -> Self {
        self.configuration.forwarding_resolver = Some(resolver);
        self
    }

    /// Applies a CORS policy to every response of the builder's own router and answers preflight
    /// requests (a [`ListeningHost`] has a policy of its own).
    pub fn use_cors(mut self, cors: CrossOriginResourceSharingHeaders) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Gives every handler `state` (a store, a pool, a client), one value per type: a request reads it
    /// with [`req.state::<T>()`](crate::http::HttpRequest::state), anything holding the server with
    /// [`HttpServer::state`](crate::http::HttpServer::state), with no clone per route. A second value of
    /// the same type replaces the first; for something handlers change, give a type with its own
    /// locking (a `Mutex`, an atomic, a pool).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use sisk::prelude::*;
    ///
    /// #[derive(Default)]
    /// struct Visits(AtomicU64);
    ///
    /// let mut r = Router::new();
    /// r += Route::get("/", |req| async move {
    ///     let visits = req.state::<Visits>()?;
    ///     Ok(format!("visit {}", visits.0.fetch_add(1, Ordering::Relaxed) + 1))
    /// });
    /// let builder = HttpServer::create_builder().use_router(r).use_state(Visits::default());
    /// # let _ = builder;
    /// ```
    pub fn use_state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(state);
        self
    }

    /// Adds a server handler (Sisk's `UseHandler`): its hooks are called when the server starts and
    /// stops, when its router is set up, when each request opens and closes, and when a handler fails
    /// (see [`HttpServerHandler`]). Several may be given; each hook calls them in the order given.
    ///
    /// A server made into a service ([`into_service`](Self::into_service)) is started and stopped by
    /// the server that runs it: its handlers' start and stop hooks are not called.
    pub fn use_handler(mut self, handler: impl HttpServerHandler) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Sets up the server's MCP provider (Sisk's `UseMcp`): `configure` is given a default one to name
    /// and fill; [`HttpRequest::handle_mcp_request`](crate::http::HttpRequest::handle_mcp_request) serves
    /// it. For several providers on several routes, make [`McpProvider`](crate::mcp::McpProvider)s and
    /// call their `handle_request` instead.
    #[cfg(feature = "mcp")]
    pub fn use_mcp(mut self, configure: impl FnOnce(&mut crate::mcp::McpProvider)) -> Self {
        let mut provider = crate::mcp::McpProvider::default();
        configure(&mut provider);
        self.state.insert(provider);
        self
    }

    /// Shares the event log with other nodes through `backplane` (a [`RedisBackplane`], say), so
    /// broadcasts and sends to an identifier reach the clients of every node and a client resumes on
    /// any node. Without one, the server keeps its own log in memory.
    ///
    /// [`RedisBackplane`]: crate::backplane
    pub fn use_backplane(mut self, backplane: impl Backplane) -> Self {
        self.backplane = Some(Arc::new(backplane));
        self
    }

    /// Runs `hook` each time an identified connection enters the server's collection, as
    /// [`HttpEventSourceCollection::on_event_source_registered`] does, but set where the server is
    /// described, so presence logic can live beside the routes. The hook reaches the server through the
    /// connection (`es.server()`): capturing an `HttpServer` in it would keep the server alive forever
    /// (the server holds its hooks).
    ///
    /// [`HttpEventSourceCollection::on_event_source_registered`]: crate::http::streams::HttpEventSourceCollection::on_event_source_registered
    pub fn on_event_source_registered(mut self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) -> Self {
        self.registered_hooks.push(Box::new(hook));
        self
    }

    /// Runs `hook` each time an identified connection leaves the server's collection (see
    /// [`on_event_source_registered`](Self::on_event_source_registered)).
    #[doc(alias = "on_event_source_unregistration")]
    pub fn on_event_source_unregistered(mut self, hook: impl Fn(&LocalEventSource) + Send + Sync + 'static) -> Self {
        self.unregistered_hooks.push(Box::new(hook));
        self
    }

    /// Checks the routers and binds the ports (or takes the listener given to
    /// [`use_listener`](Self::use_listener)). Fails on an invalid port, a port already in use, an
    /// unusable certificate, listening hosts that cannot share a port, or a router error kept by `+=`
    /// (an invalid path, two colliding routes).
    pub fn build(mut self) -> Result<HttpServerHostContext, Error> {
        #[cfg(feature = "tls")]
        let acceptor = self.ssl.take().map(crate::engine::serve::tls::acceptor).transpose()?;
        #[cfg(not(feature = "tls"))]
        let acceptor: Option<Acceptor> = None;
        let mut binding = Binding::default();
        let mut wanted = Vec::new();
        match self.listener.take() {
            Some(listener) => binding.listener(listener?, acceptor.is_some())?,
            None => {
                let port = self.listening_port()?;
                check_scheme(&port, acceptor.is_some(), self.hosts.is_empty())?;
                wanted.push(Wanted { port, host: 0, who: "the server".to_owned() });
            }
        }
        for (index, host) in self.hosts.iter().enumerate() {
            for port in &host.ports {
                let port = port.clone()?;
                check_scheme(&port, acceptor.is_some(), false)?;
                wanted.push(Wanted { port, host: index + 1, who: host.describe() });
            }
        }
        binding.ports(wanted)?;
        if acceptor.is_some() && !binding.bound.iter().any(|bound| bound.secure) {
            return Err(Error::invalid_listening_port(
                "a certificate was given with use_ssl(…) but no port is https://; listen on one",
            ));
        }
        let prefixes = binding.prefixes();
        let bound = binding.bound;
        let local_addrs = bound.iter().map(|bound| bound.local_addr).collect();
        let (server, routers) = self.into_server(local_addrs, prefixes)?;
        let listeners = bound
            .into_iter()
            .map(|Bound { listener, secure, hosts, .. }| {
                let routing = match hosts.as_slice() {
                    [(_, only)] => HostRouting::Only(routers[*only].clone()),
                    _ => HostRouting::ByName(hosts.into_iter().map(|(name, i)| (name, routers[i].clone())).collect()),
                };
                let app = Arc::new(App { server: server.clone(), routing });
                (app, listener, security(secure, acceptor.as_ref()))
            })
            .collect();
        Ok(HttpServerHostContext { server, listeners })
    }

    /// Where to listen, in the order of precedence the type's documentation gives.
    fn listening_port(&self) -> Result<ListeningPort, Error> {
        let variable = std::env::var(LISTENING_PORT_VARIABLE).ok().filter(|_| !self.ignore_port_variable);
        let Some(url) = variable else {
            return self.port.clone();
        };
        let port =
            ListeningPort::parse(&url).map_err(|e| Error::listening_port_variable(LISTENING_PORT_VARIABLE, &url, e))?;
        match &self.port {
            Ok(in_code) if self.port_set_in_code && *in_code != port => notice(
                Notice::Info,
                format_args!("{LISTENING_PORT_VARIABLE}={url} overrides the listening port set in code ({in_code})"),
            ),
            _ => {}
        }
        Ok(port)
    }

    /// Checks the router and makes the server into a [`tower_service::Service`], for another server to
    /// run (nested in an axum app, say): nothing is bound, and the listening port, listener and
    /// certificate are not used. See [`HttpService`]. A server with [`ListeningHost`]s is refused: a
    /// service has no ports to tell its hosts apart by.
    pub fn into_service(self) -> Result<HttpService, Error> {
        if let Some(host) = self.hosts.first() {
            return Err(Error::invalid_listening_port(format!(
                "{} cannot be served by into_service(), which serves the builder's own router only; serve each \
                 router as a service of its own, or build() the server",
                host.describe()
            )));
        }
        let (server, mut routers) = self.into_server(Vec::new(), Vec::new())?;
        let routing = HostRouting::Only(routers.swap_remove(0));
        Ok(HttpService::new(Arc::new(App { server, routing })))
    }

    /// The server, bound to `local_addrs`, and the routers ready for serving: the builder's own first,
    /// then each listening host's.
    fn into_server(
        self,
        local_addrs: Vec<std::net::SocketAddr>,
        listening_prefixes: Vec<String>,
    ) -> Result<(HttpServer, Vec<Arc<Router>>), Error> {
        let mut unclaimed = self.router.unclaimed_attribute_routes();
        for host in &self.hosts {
            let theirs = host.router.unclaimed_attribute_routes();
            unclaimed.retain(|route| theirs.contains(route));
        }
        if !unclaimed.is_empty() {
            notice(
                Notice::Warn,
                format_args!(
                    "attribute routes are compiled into this program but the router did not pick them up, so they \
                     answer 404: {unclaimed:?}; call r.auto_scan() (free functions) or r.set_object(…) (controllers), \
                     or r.ignore_attribute_routes() if that is on purpose"
                ),
            );
        }
        let handlers = self.handlers;
        #[cfg(feature = "logging")]
        let handlers = crate::http::logging::with_logs(handlers, &self.configuration)?;
        let handlers = handlers.freeze();
        let mut routers = Vec::with_capacity(1 + self.hosts.len());
        let mut mistakes = Vec::new();
        let hosts = self.hosts.into_iter().map(|host| (host.router, host.cors));
        for (mut router, cors) in std::iter::once((self.router, self.cors)).chain(hosts) {
            handlers.each("on_setup_router", |handler| handler.on_setup_router(&mut router));
            match router.freeze(cors) {
                Ok(router) => routers.push(Arc::new(router)),
                Err(mistake) => mistakes.push(mistake),
            }
        }
        if let Some(mistakes) = Error::gather(mistakes) {
            return Err(mistakes);
        }
        let server =
            HttpServer::new(self.configuration, local_addrs, listening_prefixes, self.backplane, self.state, handlers);
        for hook in self.registered_hooks {
            server.event_sources().on_event_source_registered(hook);
        }
        for hook in self.unregistered_hooks {
            server.event_sources().on_event_source_unregistered(hook);
        }
        Ok((server, routers))
    }
}

/// The TLS acceptor made of the builder's certificate.
#[cfg(feature = "tls")]
type Acceptor = tokio_rustls::TlsAcceptor;
/// Without the `tls` feature there is no certificate, so no acceptor.
#[cfg(not(feature = "tls"))]
type Acceptor = std::convert::Infallible;

/// How a listener's connections are served: TLS for an `https://` one (with the server's certificate).
#[cfg(feature = "tls")]
fn security(secure: bool, acceptor: Option<&Acceptor>) -> Security {
    match acceptor {
        Some(acceptor) if secure => Security::Tls(acceptor.clone()),
        _ => Security::Plain,
    }
}

/// Without the `tls` feature, every listener is plain text (`build` refuses `https://` ports).
#[cfg(not(feature = "tls"))]
fn security(_secure: bool, acceptor: Option<&Acceptor>) -> Security {
    match acceptor.copied() {
        Some(never) => match never {},
        None => Security::Plain,
    }
}

/// Refuses an `https://` port without a certificate, and, when the port is the server's only one
/// (`only`), an `http://` port with one; a certificate no port of several uses is refused by `build`.
fn check_scheme(port: &ListeningPort, tls: bool, only: bool) -> Result<(), Error> {
    if port.is_secure() == tls || (tls && !only) {
        return Ok(());
    }
    let why = if tls {
        "http:// but a certificate was given with use_ssl(…); listen on https://"
    } else if cfg!(feature = "tls") {
        "https:// but no certificate was given; call use_ssl(…) on the builder"
    } else {
        "https://, which needs sisk's `tls` feature (and use_ssl(…) on the builder)"
    };
    Err(Error::invalid_listening_port(format!("`{port}` is {why}")))
}

/// A bound server, ready to start.
#[derive(Debug)]
pub struct HttpServerHostContext {
    server: HttpServer,
    /// Every listener, with the routers of its hosts and how its connections are served.
    listeners: Vec<(Arc<App>, std::net::TcpListener, Security)>,
}

impl HttpServerHostContext {
    /// The server's handle (clone it before `start` to reach the server from elsewhere).
    pub fn server(&self) -> HttpServer {
        self.server.clone()
    }

    /// The bound address of the builder's own port or listener (every listener's:
    /// [`HttpServer::local_addrs`]).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// Serves until Ctrl-C, SIGTERM or [`HttpServer::stop`], then shuts down gracefully.
    pub async fn start(self) -> Result<(), Error> {
        self.start_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` resolves or [`HttpServer::stop`] is called, then shuts down gracefully:
    /// stops accepting on every listener, closes every event stream cleanly, and waits up to
    /// [`shutdown_timeout`](HttpServerConfiguration::shutdown_timeout) for requests and handlers to finish.
    pub async fn start_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let server = self.server;
        let handlers = server.handlers().clone();
        handlers.each("on_server_starting", |handler| handler.on_server_starting(&server));
        let mut listeners = Vec::with_capacity(self.listeners.len());
        for (app, listener, security) in self.listeners {
            let listener = TcpListener::from_std(listener).map_err(|e| Error::io("cannot register the listener", e))?;
            let addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
            notice(Notice::Info, format_args!("listening on {}://{addr}/", security.scheme()));
            let protocols = Protocols::new(server.configuration(), security);
            listeners.push(Listening { app, listener, protocols });
        }
        server.start_backplane().await;
        handlers.each("on_server_started", |handler| handler.on_server_started(&server));
        serve(&server, listeners, signal).await;
        handlers.each("on_server_stopped", |handler| handler.on_server_stopped(&server));
        Ok(())
    }
}
