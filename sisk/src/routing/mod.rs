//! Routing, mirroring Sisk's `Sisk.Core.Routing` namespace: [`Router`], [`Route`], [`RouteMethod`], the
//! [`RequestHandler`]s that run around actions, and [`Controller`]s declared with attributes.

pub(crate) mod action;
mod allowed_methods;
mod attribute_routes;
mod controller;
mod error_handler;
mod method;
pub(crate) mod pipeline;
pub(crate) mod request_handler;
mod route;
pub(crate) mod router;

pub use controller::{Controller, IntoController};
pub use error_handler::HandlerFailure;
pub use method::RouteMethod;
pub use request_handler::{RequestHandler, RequestHandlerExecutionMode};
pub use route::Route;
pub use router::Router;
