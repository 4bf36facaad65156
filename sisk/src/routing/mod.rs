//! Routing, mirroring Sisk's `Sisk.Core.Routing` namespace: [`Router`], [`Route`], [`RouteMethod`], and
//! the [`RequestHandler`]s that run around actions.

pub(crate) mod action;
mod attribute_routes;
mod method;
pub mod path;
pub(crate) mod request_handler;
mod route;
pub(crate) mod router;

pub use method::RouteMethod;
pub use request_handler::{RequestHandler, RequestHandlerExecutionMode};
pub use route::Route;
pub use router::Router;
