//! Picking up the routes declared with attributes (`#[route_get("/p")]` and friends) on free functions.

use crate::routing::Router;

impl Router {
    /// Adds every route of the program declared with a route attribute on a free function, in any
    /// module or crate of the binary (Sisk's auto-scan). Collisions and invalid routes are kept like
    /// `+=` keeps them, and the server builder's `build()` returns them, naming both functions.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// #[route_get("/hello/<name>")]
    /// async fn hello(req: HttpRequest) -> String {
    ///     format!("Olá, {}!", req.route_parameter("name").unwrap_or("mundo"))
    /// }
    ///
    /// let mut r = Router::new();
    /// r.auto_scan();
    /// assert!(r.routes().any(|route| route.path() == "/hello/<name>"));
    /// ```
    pub fn auto_scan(&mut self) -> &mut Self {
        for route in inventory::iter::<crate::__private::StaticRoute> {
            *self += (route.build)();
        }
        self
    }
}
