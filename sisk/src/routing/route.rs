//! [`Route`]: a method, a path and the action that answers it, with its own request handlers.

use std::future::Future;
use std::sync::Arc;

use crate::http::cors::CorsPolicy;
use crate::http::{CrossOriginResourceSharingHeaders, HttpRequest, IntoResponse};
use crate::routing::action::Action;
use crate::routing::{RequestHandler, RouteMethod};
use crate::Error;
use sisk_route_syntax::RoutePattern;

/// A route: the [`RouteMethod`] and path it answers, and the async action that answers.
///
/// Paths use Sisk's syntax: `<name>` is a parameter filling one segment (read it with
/// [`HttpRequest::route_parameter`]), `<*name>` takes the rest of the path. Empty segments and a
/// trailing slash do not count: `/users/<id>/` is `/users/<id>`.
///
/// ```
/// use sisk::prelude::*;
///
/// let mut r = Router::new();
/// r += Route::new(RouteMethod::Get, "/users/<id>", |req: HttpRequest| async move {
///     format!("user {}", req.route_parameter("id").unwrap_or_default())
/// });
/// r += Route::post("/users", |_req| async { (StatusCode::CREATED, "created") });
/// ```
#[derive(Debug, Clone)]
pub struct Route {
    pub(crate) method: RouteMethod,
    pub(crate) path: String,
    pub(crate) pattern: Result<RoutePattern, Error>,
    pub(crate) name: Option<String>,
    pub(crate) action: Action,
    pub(crate) request_handlers: Vec<RequestHandler>,
    /// The global request handlers this route skips (compared by instance).
    pub(crate) bypassed_global_request_handlers: Vec<RequestHandler>,
    /// Which CORS policy answers this route: the router's, none, or its own.
    pub(crate) cors: RouteCors,
}

/// The CORS policy a route is answered with.
#[derive(Debug, Clone)]
pub(crate) enum RouteCors {
    /// The policy of the route's listening host (the server's, for the main one), if it has one.
    Host,
    /// None: [`Route::without_cors`].
    Off,
    /// The route's own, in place of the host's: [`Route::with_cors`].
    Own(Arc<CorsPolicy>),
}

impl RouteCors {
    /// The policy to answer with, given the host's.
    pub(crate) fn policy<'p>(&'p self, host: Option<&'p CorsPolicy>) -> Option<&'p CorsPolicy> {
        match self {
            RouteCors::Host => host,
            RouteCors::Off => None,
            RouteCors::Own(own) => Some(own),
        }
    }
}

/// `Route::get`, `Route::post`, …: one constructor per line of the table of route methods.
macro_rules! method_constructors {
    (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
     any { $any:ident $any_attr:ident $any_map:ident $any_ctor:ident $any_doc:literal }) => {
        $(method_constructors!(@one $ctor $variant $doc);)*
        method_constructors!(@one $any_ctor $any $any_doc);
    };
    (@one $ctor:ident $variant:ident $doc:literal) => {
        #[doc = concat!("A route answering ", $doc, ".")]
        pub fn $ctor<F, Fut, R>(path: &str, action: F) -> Self
        where
            F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
        {
            Self::new(RouteMethod::$variant, path, action)
        }
    };
}

impl Route {
    /// A route answering `method` on `path` with `action`.
    ///
    /// An invalid path does not panic: the router reports it when the route is added
    /// ([`Router::set_route`](crate::routing::Router::set_route)) or when the server is built.
    pub fn new<F, Fut, R>(method: RouteMethod, path: &str, action: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResponse,
    {
        Route {
            method,
            path: path.to_owned(),
            pattern: sisk_route_syntax::parse(path).map_err(|why| Error::invalid_route_path(path, why)),
            name: None,
            action: Action::new(action),
            request_handlers: Vec::new(),
            bypassed_global_request_handlers: Vec::new(),
            cors: RouteCors::Host,
        }
    }

    sisk_route_syntax::route_methods!(method_constructors);

    /// Names the route; the name is used in logs and in collision errors.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a request handler that runs for this route only, after the global ones.
    pub fn with_request_handler(mut self, handler: RequestHandler) -> Self {
        self.request_handlers.push(handler);
        self
    }

    /// Skips a global request handler on this route, as Sisk's `BypassGlobalRequestHandlers`: `handler` is
    /// the instance given to
    /// [`add_global_request_handler`](crate::routing::Router::add_global_request_handler), or a clone of it
    /// (clones share one instance); a handler made anew by the same code is another instance and is not
    /// skipped.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// let authenticate = RequestHandler::before(|req: HttpRequest| async move {
    ///     req.cookie("session").is_none().then(|| HttpResponse::from_status(StatusCode::UNAUTHORIZED))
    /// });
    /// let mut r = Router::new();
    /// r.add_global_request_handler(authenticate.clone());
    /// r += Route::post("/login", |_req| async { "welcome" }).bypass_global_request_handler(&authenticate);
    /// ```
    pub fn bypass_global_request_handler(mut self, handler: &RequestHandler) -> Self {
        self.bypassed_global_request_handlers.push(handler.clone());
        self
    }

    /// Leaves this route out of the server's CORS policy (Sisk's `UseCors = false`): its answers, and
    /// an `OPTIONS` preflight to it, carry no `Access-Control-*` header. On an attribute route:
    /// `#[route_get("/colors", use_cors = false)]`.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// let mut r = Router::new();
    /// r += Route::get("/internal/health", |_req| async { "ok" }).without_cors();
    /// ```
    #[doc(alias = "UseCors", alias = "use_cors")]
    pub fn without_cors(mut self) -> Self {
        self.cors = RouteCors::Off;
        self
    }

    /// Answers this route with its own CORS policy instead of the server's (or its listening host's):
    /// its answers, and an `OPTIONS` preflight asking for its method, carry the headers of `cors` and
    /// none of the server's policy — also on a server without one. The last of `with_cors` and
    /// [`without_cors`](Self::without_cors) called wins. On an attribute route:
    /// `#[route_get("/widgets", cors = widgets_cors)]`, naming a function that returns the policy.
    ///
    /// Sisk has one policy per listening host and lets an action change the headers of its own answer
    /// (`HttpContext.OverrideHeaders`); a route-level policy keeps that choice where the route is
    /// declared, and holds for its preflight too, which the action never sees.
    ///
    /// ```
    /// use sisk::http::CrossOriginResourceSharingHeaders;
    /// use sisk::prelude::*;
    ///
    /// let mut r = Router::new();
    /// let embeddable = CrossOriginResourceSharingHeaders::new()
    ///     .allow_origin(CrossOriginResourceSharingHeaders::AUTO_ALLOW_ORIGIN)
    ///     .allow_credentials(true);
    /// r += Route::get("/widgets/embed", |_req| async { "<widget>" }).with_cors(embeddable);
    /// ```
    #[doc(alias = "OverrideHeaders")]
    pub fn with_cors(mut self, cors: CrossOriginResourceSharingHeaders) -> Self {
        self.cors = RouteCors::Own(Arc::new(CorsPolicy::from(cors)));
        self
    }

    /// True when this route skips the global `handler` (see
    /// [`bypass_global_request_handler`](Self::bypass_global_request_handler)).
    pub(crate) fn bypasses(&self, handler: &RequestHandler) -> bool {
        self.bypassed_global_request_handlers.iter().any(|bypassed| bypassed.is_same_instance(handler))
    }

    /// The method this route answers.
    pub fn method(&self) -> RouteMethod {
        self.method
    }

    /// The path as written when the route was made.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The route's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The names of the path's parameters, in order (none for an invalid path, which no router holds).
    pub(crate) fn parameter_names(&self) -> &[Arc<str>] {
        self.pattern.as_ref().map(|p| p.parameters.as_slice()).unwrap_or_default()
    }

    /// How errors and logs name this route: `GET /users/<id>` and its name, if any.
    pub(crate) fn describe(&self) -> String {
        let path = self.pattern.as_ref().map(|p| p.display.as_str()).unwrap_or(&self.path);
        match &self.name {
            Some(name) => format!("`{} {path}` ({name})", self.method),
            None => format!("`{} {path}`", self.method),
        }
    }
}
