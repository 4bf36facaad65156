//! [`ListeningHost`]: one more set of ports a server listens on, with its own router and CORS policy
//! (Sisk's `ListeningHost`), given to the builder's
//! [`add_listening_host`](crate::http::HttpServerHostContextBuilder::add_listening_host).

use crate::http::{CrossOriginResourceSharingHeaders, IntoListeningPort, ListeningPort};
use crate::routing::Router;
use crate::Error;

/// Ports with a router of their own, served by the same server as the builder's own port and router
/// (Sisk's `ListeningHost`): one [`HttpServer`](crate::http::HttpServer), one configuration, one
/// [`event_sources()`](crate::http::HttpServer::event_sources) collection and one backplane for all, so
/// a route of one host can reach the event streams opened on another.
///
/// Every port is bound when the server is built. Ports that are the same address
/// (`http://localhost:8080/` and `http://127.0.0.1:8080/` both are 127.0.0.1:8080) share one listener,
/// and so do a port on every interface (`*`, `+`, `0.0.0.0`, `::`) and the other ports of its port
/// number, whose host names are then not looked up (`http://*:80/`, `http://api.example.com:80/` and
/// `http://www.example.com:80/` are one listener on 0.0.0.0:80). A request on a shared listener goes
/// to the host whose port names the request's `Host` (ASCII case ignored, the port in `Host` not
/// compared), else to the host on every interface, if one is there; a name no host has is answered
/// `400 Bad Request`, as in Sisk. A listener with one host never looks at `Host`. Port `0` is always
/// a port of its own, chosen by the system (read it back with
/// [`HttpServer::local_addrs`](crate::http::HttpServer::local_addrs)).
///
/// ```
/// use sisk::http::{CrossOriginResourceSharingHeaders, ListeningHost};
/// use sisk::prelude::*;
///
/// let mut admin = Router::new();
/// admin += Route::get("/", |_req| async { "Hello from the admin host!" });
/// let host = ListeningHost::new("http://localhost:12001/", admin)
///     .with_port("http://localhost:12002/")
///     .use_cors(CrossOriginResourceSharingHeaders::new().allow_origin("https://admin.example"))
///     .with_label("admin");
/// let builder = HttpServer::create_builder().use_listening_port("http://localhost:12000/").add_listening_host(host);
/// # let _ = builder;
/// ```
#[derive(Debug)]
pub struct ListeningHost {
    pub(crate) ports: Vec<Result<ListeningPort, Error>>,
    pub(crate) router: Router,
    pub(crate) cors: Option<CrossOriginResourceSharingHeaders>,
    label: Option<String>,
}

impl ListeningHost {
    /// A host listening on `port` (a URL, a port number on localhost, or a [`ListeningPort`]) and
    /// answering with `router`. An invalid port is reported by the builder's `build`.
    pub fn new(port: impl IntoListeningPort, router: Router) -> Self {
        ListeningHost { ports: vec![port.into_listening_port()], router, cors: None, label: None }
    }

    /// Listens on one more port.
    pub fn with_port(mut self, port: impl IntoListeningPort) -> Self {
        self.ports.push(port.into_listening_port());
        self
    }

    /// This host's CORS policy (Sisk's `CrossOriginResourceSharingPolicy` of a listening host): the
    /// server's [`use_cors`](crate::http::HttpServerHostContextBuilder::use_cors) is for the builder's
    /// own router only, so a host without one answers with no CORS headers. A route's
    /// [`with_cors`](crate::routing::Route::with_cors) replaces it for that route.
    pub fn use_cors(mut self, cors: CrossOriginResourceSharingHeaders) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Names the host in logs and errors (Sisk's `Label`).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The label, if one was given.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// How errors name this host: its label, or its first port.
    pub(crate) fn describe(&self) -> String {
        match (&self.label, self.ports.first()) {
            (Some(label), _) => format!("listening host `{label}`"),
            (None, Some(Ok(port))) => format!("the listening host of `{port}`"),
            (None, _) => "a listening host".to_owned(),
        }
    }
}
