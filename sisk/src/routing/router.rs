//! [`Router`]: the table of routes, matched with matchit, plus global request handlers and the
//! handlers for "not found" and "method not allowed".

use std::collections::HashSet;
use std::future::Future;
use std::ops::AddAssign;
use std::sync::Arc;

use http::HeaderMap;

use crate::http::cors::CorsPolicy;
use crate::http::CrossOriginResourceSharingHeaders;
use crate::http::{HttpRequest, IntoResponse};
use crate::routing::action::Action;
use crate::routing::allowed_methods::AllowedMethods;
use crate::routing::attribute_routes::RouteSource;
use crate::routing::error_handler::CallbackErrorHandler;
use crate::routing::route::RouteCors;
use crate::routing::HandlerFailure;
use crate::routing::{RequestHandler, Route, RouteMethod};
use crate::Error;
use sisk_route_syntax::normalize_request_path;

/// The routes of a server.
///
/// Add routes with `+=` (as in Sisk), [`Router::set_route`], or the `map_*` helpers. A route whose
/// path is invalid or that collides with an earlier route (same method, same path shape) is an error:
/// [`set_route`](Router::set_route) returns it, and `+=` keeps it for
/// [`HttpServerHostContextBuilder::build`](crate::http::HttpServerHostContextBuilder::build) to return, so
/// a server never starts with a route silently missing.
///
/// Matching ignores empty segments and a trailing slash. With
/// [`set_match_routes_ignore_case`](Router::set_match_routes_ignore_case) the static parts of paths compare
/// without regard to ASCII case (parameter values keep the client's spelling). A path that exists with
/// other methods answers `405 Method Not Allowed` with an `Allow` header; an unknown path answers
/// `404 Not Found`; both can be replaced.
///
/// ```
/// use sisk::prelude::*;
///
/// let mut r = Router::new();
/// r += Route::new(RouteMethod::Get, "/", |_req| async { "home" });
/// r.map_post("/items", |_req| async { (StatusCode::CREATED, "created") });
/// assert_eq!(r.set_route(Route::get("/", |_req| async { "again" })).unwrap_err().kind(), sisk::ErrorKind::RouteCollision);
/// ```
#[derive(Debug)]
pub struct Router {
    tree: matchit::Router<usize>,
    paths: Vec<PathRoutes>,
    errors: Vec<Error>,
    /// The sources of attribute routes already added (see `attribute_routes`).
    pub(crate) static_route_sources: HashSet<RouteSource>,
    /// Set by `ignore_attribute_routes`: the program's attribute routes are left out on purpose.
    pub(crate) attribute_routes_ignored: bool,
    pub(crate) global_request_handlers: Vec<RequestHandler>,
    pub(crate) not_found: Option<Action>,
    pub(crate) method_not_allowed: Option<Action>,
    pub(crate) callback_error_handler: Option<CallbackErrorHandler>,
    /// The server's CORS policy, given when the server is built.
    pub(crate) cors: Option<CorsPolicy>,
    /// See [`set_match_routes_ignore_case`](Router::set_match_routes_ignore_case).
    match_routes_ignore_case: bool,
    /// True once `freeze` has put the static parts of the paths in lower case (ignore-case only).
    folded: bool,
}

/// The routes sharing one path pattern, one per method.
#[derive(Debug)]
struct PathRoutes {
    pattern: String,
    routes: Vec<Route>,
}

/// What the router decided for a request.
#[derive(Debug)]
pub(crate) enum Resolution<'r> {
    /// A route answers; its parameters, percent-decoded, each named by the route's own shared name (a
    /// route without parameters allocates nothing here).
    Found(&'r Route, Vec<(Arc<str>, String)>),
    /// The path exists with other methods, listed for the `Allow` header; `routes` are the path's
    /// (a preflight takes the CORS policy of the one it asks for).
    MethodNotAllowed { allowed: AllowedMethods, routes: &'r [Route] },
    /// No route has this path.
    NotFound,
    /// A route matches, but a parameter decodes to a control character (`/sse/%0d%0a`): such a value must
    /// never become an identifier, a log line or a header.
    InvalidParameter,
}

/// `Router::map_get`, `map_post`, …: one helper per line of the table of route methods.
macro_rules! map_methods {
    (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
     any { $any:ident $any_attr:ident $any_map:ident $any_ctor:ident $any_doc:literal }) => {
        $(map_methods!(@one $map $variant $doc);)*
        map_methods!(@one $any_map $any $any_doc);
    };
    (@one $map:ident $variant:ident $doc:literal) => {
        #[doc = concat!("Adds a route answering ", $doc, " (kept for `build()` if it cannot be added, as with `+=`).")]
        pub fn $map<F, Fut, R>(&mut self, path: &str, action: F) -> &mut Self
        where
            F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
        {
            *self += Route::new(RouteMethod::$variant, path, action);
            self
        }
    };
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Router {
            tree: matchit::Router::new(),
            paths: Vec::new(),
            errors: Vec::new(),
            static_route_sources: HashSet::new(),
            attribute_routes_ignored: false,
            global_request_handlers: Vec::new(),
            not_found: None,
            method_not_allowed: None,
            callback_error_handler: None,
            cors: None,
            match_routes_ignore_case: false,
            folded: false,
        }
    }

    /// Adds a route, or says why it cannot be added (an invalid path, or a collision naming both routes).
    pub fn set_route(&mut self, route: Route) -> Result<(), Error> {
        let pattern = route.pattern.clone()?.matchit;
        let pattern = if self.folded { lowercase_static_parts(&pattern) } else { pattern };
        let index = match self.paths.iter().position(|p| p.pattern == pattern) {
            Some(index) => index,
            None => {
                let index = self.paths.len();
                if let Err(err) = self.tree.insert(pattern.clone(), index) {
                    return Err(self.insert_error(&route, err));
                }
                self.paths.push(PathRoutes { pattern, routes: Vec::new() });
                index
            }
        };
        let entry = &mut self.paths[index];
        if let Some(existing) = entry.routes.iter().find(|r| r.method == route.method) {
            return Err(Error::route_collision(&route.describe(), &existing.describe()));
        }
        entry.routes.push(route);
        Ok(())
    }

    fn insert_error(&self, route: &Route, err: matchit::InsertError) -> Error {
        match err {
            matchit::InsertError::Conflict { with } => {
                let existing = self
                    .paths
                    .iter()
                    .find(|p| p.pattern == with)
                    .and_then(|p| p.routes.first())
                    .map(Route::describe)
                    .unwrap_or(with);
                Error::route_collision(&route.describe(), &existing)
            }
            other => Error::invalid_route_path(route.path(), other),
        }
    }

    sisk_route_syntax::route_methods!(map_methods);

    /// Compares the static parts of paths without regard to ASCII case (Sisk's `MatchRoutesIgnoreCase`;
    /// off by default, as URLs are case-sensitive). Parameter values keep the client's spelling. It takes
    /// effect when the server is built, whenever it is set: routes that then differ only in case must
    /// differ by method, or `build()` reports them as a collision naming both.
    pub fn set_match_routes_ignore_case(&mut self, ignore: bool) -> &mut Self {
        self.match_routes_ignore_case = ignore;
        self
    }

    /// True when paths are matched without regard to ASCII case (see
    /// [`set_match_routes_ignore_case`](Self::set_match_routes_ignore_case)).
    pub fn match_routes_ignore_case(&self) -> bool {
        self.match_routes_ignore_case
    }

    /// Adds a request handler that runs for every route, before the route's own handlers.
    pub fn add_global_request_handler(&mut self, handler: RequestHandler) -> &mut Self {
        self.global_request_handlers.push(handler);
        self
    }

    /// Replaces the `404 Not Found` answer.
    pub fn set_not_found_handler<F, Fut, R>(&mut self, action: F) -> &mut Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResponse,
    {
        self.not_found = Some(Action::new(action));
        self
    }

    /// Replaces the `405 Method Not Allowed` answer (the `Allow` header is added to what it returns).
    pub fn set_method_not_allowed_handler<F, Fut, R>(&mut self, action: F) -> &mut Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResponse,
    {
        self.method_not_allowed = Some(Action::new(action));
        self
    }

    /// Answers what goes wrong in a route (Sisk's `CallbackErrorHandler`): `handler` gets the failure —
    /// an [`Error`] a handler returned, with its kind, status and cause, or a panic's message — and the
    /// request, and returns the answer. Without it a client error answers its message and a server
    /// error or a panic its bare status; [`HandlerFailure::default_response`] is that answer. A handler
    /// that panics itself is logged, and sisk's answer sent.
    ///
    /// ```
    /// use sisk::prelude::*;
    /// use sisk::routing::HandlerFailure;
    ///
    /// let mut router = Router::new();
    /// router.set_callback_error_handler(|failure: &HandlerFailure, _req: &HttpRequest| {
    ///     HttpResponse::from_status(failure.status_code()).with_content(format!("Error: {}", failure.message()))
    /// });
    /// ```
    pub fn set_callback_error_handler<F, R>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(&HandlerFailure, &HttpRequest) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.callback_error_handler = Some(CallbackErrorHandler::new(handler));
        self
    }

    /// Every route, in the order added per path.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.paths.iter().flat_map(|p| p.routes.iter())
    }

    /// Keeps an error for the server builder's `build()` to return.
    pub(crate) fn keep_error(&mut self, error: Error) {
        self.errors.push(error);
    }

    /// Takes the errors kept by `+=`, so the server builder can refuse to start.
    pub(crate) fn take_errors(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.errors)
    }

    /// Prepares the router for serving with the server's CORS policy: rebuilds the tree in lower case if
    /// matching ignores case. Every mistake is reported at once: the first, carrying the others
    /// ([`Error::related`]).
    pub(crate) fn freeze(mut self, cors: Option<CrossOriginResourceSharingHeaders>) -> Result<Self, Error> {
        self.cors = cors.map(CorsPolicy::from);
        if self.match_routes_ignore_case {
            self.fold_case();
        }
        match Error::gather(self.take_errors()) {
            Some(mistakes) => Err(mistakes),
            None => Ok(self),
        }
    }

    /// Rebuilds the table with the static parts of paths in lower case: paths that differ only in case
    /// become one path, whose routes must then differ by method (a clash is kept as an error).
    fn fold_case(&mut self) {
        let mut folded = Router { folded: true, ..Router::new() };
        for route in self.paths.drain(..).flat_map(|entry| entry.routes) {
            folded += route;
        }
        self.tree = folded.tree;
        self.paths = folded.paths;
        self.folded = true;
        self.errors.append(&mut folded.errors);
    }

    /// Finds what answers `method` on `raw_path` (the path as the client sent it, still percent-encoded).
    pub(crate) fn resolve(&self, method: &http::Method, raw_path: &str) -> Resolution<'_> {
        let path = normalize_request_path(raw_path);
        let lowered;
        let lookup: &str = if self.folded {
            lowered = path.to_ascii_lowercase();
            &lowered
        } else {
            &path
        };
        let Ok(found) = self.tree.at(lookup) else {
            return Resolution::NotFound;
        };
        let routes = &self.paths[*found.value].routes;
        let Some(route) = pick_route(routes, method) else {
            let allowed = AllowedMethods::of(routes.iter().map(Route::method));
            return Resolution::MethodNotAllowed { allowed, routes };
        };
        let mut params = Vec::with_capacity(found.params.len());
        for ((_, value), name) in found.params.iter().zip(route.parameter_names()) {
            // Slice the client's own spelling out of `path` (same offsets: ASCII lowering keeps lengths).
            let start = value.as_ptr() as usize - lookup.as_ptr() as usize;
            let original = &path[start..start + value.len()];
            let decoded = percent_encoding::percent_decode_str(original).decode_utf8_lossy();
            if decoded.chars().any(char::is_control) {
                return Resolution::InvalidParameter;
            }
            params.push((Arc::clone(name), decoded.into_owned()));
        }
        Resolution::Found(route, params)
    }
}

impl Resolution<'_> {
    /// The CORS policy the answer to this resolution carries, `host` being the router's: a route's own
    /// choice; for a path without the request's method, the choice of the route a preflight asks for
    /// (`Access-Control-Request-Method`), else `host` unless every route of the path was left out of it.
    pub(crate) fn cors<'p>(&'p self, host: Option<&'p CorsPolicy>, request: &HeaderMap) -> Option<&'p CorsPolicy> {
        match self {
            Resolution::Found(route, _) => route.cors.policy(host),
            Resolution::MethodNotAllowed { routes, .. } => {
                let asked = request.get(http::header::ACCESS_CONTROL_REQUEST_METHOD);
                let asked = asked.and_then(|method| http::Method::from_bytes(method.as_bytes()).ok());
                match asked.and_then(|method| pick_route(routes, &method)) {
                    Some(route) => route.cors.policy(host),
                    None => host.filter(|_| routes.iter().any(|route| matches!(route.cors, RouteCors::Host))),
                }
            }
            Resolution::NotFound | Resolution::InvalidParameter => host,
        }
    }
}

/// Picks the route for a method: the exact method, then `GET` for `HEAD`, then `Any`.
fn pick_route<'r>(routes: &'r [Route], method: &http::Method) -> Option<&'r Route> {
    let wanted = RouteMethod::from_http(method);
    let find = |m: RouteMethod| routes.iter().find(|r| r.method == m);
    wanted
        .and_then(find)
        .or_else(|| (wanted == Some(RouteMethod::Head)).then(|| find(RouteMethod::Get)).flatten())
        .or_else(|| find(RouteMethod::Any))
}

/// Lower-cases a matchit pattern outside its `{parameter}` names.
fn lowercase_static_parts(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_param = false;
    for c in pattern.chars() {
        match c {
            '{' => in_param = true,
            '}' => in_param = false,
            _ => {}
        }
        out.push(if in_param { c } else { c.to_ascii_lowercase() });
    }
    out
}

impl AddAssign<Route> for Router {
    /// Adds a route as Sisk's `r += new Route(…)` does. An error (an invalid path or a collision) is kept
    /// and returned by the server builder's `build()`; use [`Router::set_route`] to handle it here.
    fn add_assign(&mut self, route: Route) {
        if let Err(err) = self.set_route(route) {
            self.keep_error(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(RouteMethod, &str)]) -> Router {
        let mut r = Router::new();
        for (method, path) in routes {
            r.set_route(Route::new(*method, path, |_req| async { "" })).unwrap();
        }
        r
    }

    /// Resolved parameters with their shared names copied, to compare with expected ones.
    pub(super) fn owned(params: Vec<(Arc<str>, String)>) -> Vec<(String, String)> {
        params.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
    }

    fn found(r: &Router, method: http::Method, path: &str) -> Option<(String, Vec<(String, String)>)> {
        match r.resolve(&method, path) {
            Resolution::Found(route, params) => Some((route.path().to_owned(), owned(params))),
            _ => None,
        }
    }

    #[test]
    fn matches_table() {
        use RouteMethod::*;
        let r = router(&[(Get, "/"), (Get, "/users/<id>"), (Post, "/users"), (Any, "/any"), (Get, "/files/<*rest>")]);
        let p = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        type Expected<'a> = Option<(&'a str, Vec<(String, String)>)>;
        let table: Vec<(http::Method, &str, Expected)> = vec![
            (http::Method::GET, "/", Some(("/", vec![]))),
            (http::Method::GET, "//", Some(("/", vec![]))),
            (http::Method::GET, "/users/42", Some(("/users/<id>", p("id", "42")))),
            (http::Method::GET, "/users//42/", Some(("/users/<id>", p("id", "42")))),
            (http::Method::GET, "/users/J%C3%BAlia%20M", Some(("/users/<id>", p("id", "Júlia M")))),
            (http::Method::HEAD, "/users/1", Some(("/users/<id>", p("id", "1")))),
            (http::Method::POST, "/users/", Some(("/users", vec![]))),
            (http::Method::DELETE, "/any", Some(("/any", vec![]))),
            (http::Method::GET, "/files/a/b.css", Some(("/files/<*rest>", p("rest", "a/b.css")))),
            (http::Method::GET, "/USERS/1", None),
            (http::Method::GET, "/nope", None),
        ];
        for (method, path, expected) in table {
            let got = found(&r, method.clone(), path);
            let expected = expected.map(|(route, params)| (route.to_owned(), params));
            assert_eq!(got, expected, "{method} {path}");
        }
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let r = router(&[(RouteMethod::Get, "/a"), (RouteMethod::Post, "/a")]);
        match r.resolve(&http::Method::PUT, "/a") {
            Resolution::MethodNotAllowed { allowed, .. } => assert_eq!(allowed.header_value(), "GET, POST, HEAD"),
            other => panic!("expected 405, got {other:?}"),
        }
    }

    #[test]
    fn ignore_case_keeps_parameter_spelling() {
        let mut r = router(&[(RouteMethod::Get, "/Users/<Id>")]);
        r.set_match_routes_ignore_case(true);
        let r = r.freeze(None).unwrap();
        let (_, params) = found(&r, http::Method::GET, "/uSeRs/MiXeD").unwrap();
        assert_eq!(params, vec![("Id".to_owned(), "MiXeD".to_owned())]);
    }

    #[test]
    fn ignore_case_folds_paths_and_reports_collisions_naming_both_routes() {
        // Set before the routes are added or after: the same verdicts, at build time.
        let mut r = Router::new();
        r.set_match_routes_ignore_case(true);
        r.set_route(Route::get("/A", |_req| async { "" })).unwrap();
        r.set_route(Route::post("/a", |_req| async { "" })).unwrap();
        r.set_route(Route::get("/a/", |_req| async { "" }).with_name("lower")).unwrap();
        let err = r.freeze(None).unwrap_err();
        assert!(
            err.kind() == crate::ErrorKind::RouteCollision
                && err.message().contains("`GET /A`")
                && err.message().contains("lower"),
            "{err}"
        );
        assert!(err.related().is_empty(), "another method on the same folded path is no collision: {err:?}");

        let mut late = router(&[(RouteMethod::Get, "/Users/<id>"), (RouteMethod::Delete, "/users/<id>")]);
        late.set_match_routes_ignore_case(true);
        let late = late.freeze(None).unwrap();
        assert!(found(&late, http::Method::DELETE, "/USERS/1").is_some());
        assert!(found(&late, http::Method::GET, "/users/1").is_some());
        let mut clash = router(&[(RouteMethod::Get, "/Users"), (RouteMethod::Get, "/users")]);
        clash.set_match_routes_ignore_case(true);
        let err = clash.freeze(None).unwrap_err();
        assert!(err.message().contains("`GET /Users`") && err.message().contains("`GET /users`"), "{err}");
    }

    #[test]
    fn collisions_name_both_routes() {
        let mut r = router(&[(RouteMethod::Get, "/users/<id>")]);
        let err = r.set_route(Route::get("/users/<name>/", |_req| async { "" }).with_name("by_name")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::RouteCollision, "{err}");
        assert!(err.message().contains("/users/<id>") && err.message().contains("by_name"), "{err}");
        let err = r.set_route(Route::get("/users//<id>", |_req| async { "" })).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::RouteCollision, "{err}");
        // The same path with another method is fine, whatever its parameters are called.
        r.set_route(Route::delete("/users/<name>", |_req| async { "" })).unwrap();
        match r.resolve(&http::Method::DELETE, "/users/ana") {
            Resolution::Found(route, params) => {
                assert_eq!(
                    (route.path(), owned(params)),
                    ("/users/<name>", vec![("name".to_owned(), "ana".to_owned())])
                )
            }
            other => panic!("expected the DELETE route, got {other:?}"),
        }
    }

    #[test]
    fn add_assign_keeps_errors_for_build() {
        let mut r = Router::new();
        r += Route::get("no-slash", |_req| async { "" });
        assert_eq!(r.freeze(None).unwrap_err().kind(), crate::ErrorKind::InvalidRoutePath);
    }
}

/// Property tests: a route of any valid path answers the requests its path describes, with the
/// parameter values they carry, percent-decoded.
#[cfg(test)]
mod properties {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use proptest::prelude::*;

    use super::*;
    use sisk_route_syntax::parse;

    /// Rooted paths of literal, parameter and catch-all segments, some invalid (a repeated name, a
    /// catch-all before the end), with empty segments and trailing slashes.
    fn route_path() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            3 => "[a-z0-9_.%{}~-]{1,6}",
            2 => "<[a-c]{1,2}>",
            1 => "<\\*[a-c]{1,2}>",
            1 => Just(String::new()),
        ];
        (prop::collection::vec(segment, 0..5), any::<bool>())
            .prop_map(|(segments, trailing)| format!("/{}{}", segments.join("/"), if trailing { "/" } else { "" }))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn an_accepted_path_routes_its_requests(
            path in route_path(),
            values in prop::collection::vec("[^/\\p{Cc}]{1,8}", 5),
        ) {
            let Ok(pattern) = parse(&path) else {
                return Ok(());
            };
            let mut router = Router::new();
            let added = router.set_route(Route::get(&path, |_req| async { "" }));
            prop_assert!(added.is_ok(), "{path:?} parses but is refused: {added:?}");

            // The request: each parameter replaced by a value, percent-encoded.
            let mut request = String::new();
            let mut carried = Vec::new();
            for segment in pattern.display.split('/').filter(|s| !s.is_empty()) {
                request.push('/');
                if segment.starts_with('<') {
                    let value = &values[carried.len()];
                    request.extend(utf8_percent_encode(value, NON_ALPHANUMERIC));
                    carried.push((segment.trim_matches(['<', '>', '*']).to_owned(), value.clone()));
                } else {
                    request.push_str(segment);
                }
            }
            if request.is_empty() {
                request.push('/');
            }
            match router.resolve(&http::Method::GET, &request) {
                Resolution::Found(_, parameters) => prop_assert_eq!(super::tests::owned(parameters), carried),
                other => prop_assert!(false, "{request:?} for {path:?} resolved to {other:?}"),
            }
        }
    }
}
