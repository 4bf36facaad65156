//! [`Controller`]: a type whose `impl` block carries `#[route_prefix]`, so the router can take its routes.

use std::sync::Arc;

use crate::routing::Route;

/// A controller: a type whose `impl` block carries [`#[route_prefix("/p")]`](crate::route_prefix), which
/// implements this trait. Hand one to the router with [`Router::set_object`](crate::routing::Router::set_object)
/// (or, when it has only static routes, [`Router::set_object_type`](crate::routing::Router::set_object_type)).
///
/// Do not implement it by hand: its items are the macro's business.
pub trait Controller: Send + Sync + 'static {
    /// The names of the methods that take `&self`, for the error that asks for an instance.
    #[doc(hidden)]
    const __INSTANCE_ROUTES: &'static [&'static str];

    /// The routes of the methods that take `&self`, each holding the shared instance.
    #[doc(hidden)]
    fn __instance_routes(self: Arc<Self>) -> Vec<Route>;
}

/// What [`Router::set_object`](crate::routing::Router::set_object) accepts: a controller, or an `Arc` of
/// one when the caller keeps a handle to the instance the routes share.
pub trait IntoController {
    /// The controller type.
    type Controller: Controller;

    /// The shared instance.
    fn into_controller(self) -> Arc<Self::Controller>;
}

impl<C: Controller> IntoController for C {
    type Controller = C;

    fn into_controller(self) -> Arc<C> {
        Arc::new(self)
    }
}

impl<C: Controller> IntoController for Arc<C> {
    type Controller = C;

    fn into_controller(self) -> Arc<C> {
        self
    }
}
