//! The parts of [sisk](https://docs.rs/sisk)'s routing that its attribute macros need at compile time as
//! much as its router needs them at run time, kept in one place so the two can never disagree:
//! the route-path grammar ([`parse`], [`PathError`], [`normalize_request_path`]) and the table of route
//! methods ([`route_methods!`]) from which the `RouteMethod` enum, the router's `map_*` helpers, the
//! `Route` constructors and the `#[route_*]` attributes are all generated.
//!
//! Most users never depend on this crate directly: sisk re-exports what they need.

mod methods;
mod path;

pub use path::{normalize_request_path, parse, PathError, RoutePattern};
