//! Picking up the routes declared with attributes: free functions (`#[route_get("/p")]` and friends) and
//! controllers (`#[route_prefix("/p")]` on an `impl` block), as Sisk's auto-scan and `SetObject` do.
//!
//! Each source of static routes (the free functions, or one controller type) is picked up once per
//! router, so `auto_scan()` followed by `set_object(controller)` adds the controller's static routes once.

use std::any::TypeId;

use crate::__private::StaticRoute;
use crate::routing::{Controller, IntoController, Router};
use crate::Error;

/// Where static attribute routes come from: the free functions (`None`) or one controller type.
pub(crate) type RouteSource = Option<TypeId>;

impl Router {
    /// Adds every static route of the program declared with a route attribute, in any module or crate
    /// of the binary (Sisk's auto-scan): free functions and the methods without `self` of every
    /// controller. Routes on `&self` need an instance: add those with [`Router::set_object`].
    /// Collisions and invalid routes are kept like `+=` keeps them, and the server builder's `build()`
    /// returns them, naming both functions.
    ///
    /// Routes in another crate are found when that crate is linked into the binary, which it is as soon
    /// as the program uses anything of it (a crate nothing refers to may be left out by the linker).
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
        self.add_static_routes(|_| true);
        self
    }

    /// Adds the routes of a controller instance (Sisk's `SetObject(instance)`): its methods on `&self`,
    /// which share this one instance (hand an `Arc` to keep a handle yourself), and its static methods
    /// unless this router already has them. The routes answer under the controller's `#[route_prefix]`.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// struct UserController {
    ///     greeting: String, // a database pool, a client, configuration…
    /// }
    ///
    /// #[route_prefix("/api/users")]
    /// impl UserController {
    ///     #[route_get]
    ///     async fn list(_req: HttpRequest) -> &'static str {
    ///         "alice, bob"
    ///     }
    ///
    ///     #[route_get("/<id>")]
    ///     async fn get(&self, req: HttpRequest) -> String {
    ///         format!("{}, {}", self.greeting, req.route_parameter("id").unwrap_or_default())
    ///     }
    /// }
    ///
    /// let mut r = Router::new();
    /// r.set_object(UserController { greeting: "Olá".into() });
    /// let paths: Vec<&str> = r.routes().map(|route| route.path()).collect();
    /// assert!(paths.contains(&"/api/users") && paths.contains(&"/api/users/<id>"));
    /// ```
    pub fn set_object<I: IntoController>(&mut self, controller: I) -> &mut Self {
        self.add_static_routes(|source| source == Some(TypeId::of::<I::Controller>()));
        for route in controller.into_controller().__instance_routes() {
            *self += route;
        }
        self
    }

    /// Adds the static routes of a controller type (Sisk's `SetObject(typeof(T))`). A controller with
    /// routes on `&self` needs an instance: for one, this keeps an error for `build()` that says to call
    /// [`Router::set_object`] instead.
    pub fn set_object_type<C: Controller>(&mut self) -> &mut Self {
        if !C::__INSTANCE_ROUTES.is_empty() {
            let name = std::any::type_name::<C>().rsplit("::").next().unwrap_or_default();
            self.keep_error(Error::controller_needs_instance(name, C::__INSTANCE_ROUTES));
        }
        self.add_static_routes(|source| source == Some(TypeId::of::<C>()));
        self
    }

    /// Says that the program's attribute routes are left out on purpose: `build()` then does not warn
    /// that no router picked them up (a program that serves several routers, say, one without them).
    pub fn ignore_attribute_routes(&mut self) -> &mut Self {
        self.attribute_routes_ignored = true;
        self
    }

    /// The paths of the attribute routes compiled into the program that this router did not pick up
    /// (free functions without [`auto_scan`](Self::auto_scan), controllers without
    /// [`set_object`](Self::set_object)), unless they are ignored on purpose.
    pub(crate) fn unclaimed_attribute_routes(&self) -> Vec<String> {
        if self.attribute_routes_ignored {
            return Vec::new();
        }
        inventory::iter::<StaticRoute>
            .into_iter()
            .filter(|route| !self.static_route_sources.contains(&route.controller.map(|type_id| type_id())))
            .map(|route| (route.build)().path().to_owned())
            .collect()
    }

    /// Adds the static routes of the sources `wanted` picks, in one pass over the program's routes,
    /// skipping the sources this router already took.
    fn add_static_routes(&mut self, wanted: impl Fn(RouteSource) -> bool) {
        let taken = self.static_route_sources.clone();
        for route in inventory::iter::<StaticRoute> {
            let source = route.controller.map(|type_id| type_id());
            if wanted(source) && !taken.contains(&source) {
                self.static_route_sources.insert(source);
                *self += (route.build)();
            }
        }
    }
}
