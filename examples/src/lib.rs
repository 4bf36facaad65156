//! Routes that live in a library crate, to show that attribute routes work across the crates of one
//! binary: the `controllers` example picks these up with `Router::auto_scan()` and
//! `Router::set_object_type::<Health>()`. Besides, [`listener`] binds where the examples that run sisk
//! inside another server listen.

pub mod listener;

use sisk::prelude::*;

/// The version of this library, answered by `GET /version` (a free function picked up by `auto_scan`).
#[route_get("/version")]
pub async fn version(_req: HttpRequest) -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A controller with static routes only: health checks under `/health`.
#[derive(Debug)]
pub struct Health;

#[route_prefix("/health")]
impl Health {
    /// `GET /health`: the server answers.
    #[route_get]
    pub async fn live(_req: HttpRequest) -> &'static str {
        "live"
    }

    /// `GET /health/ready`: readiness, with the number of open streams (a synchronous handler: it runs on
    /// the blocking pool).
    #[route_get("/ready")]
    pub fn ready(req: HttpRequest) -> String {
        format!("ready, {} open streams", req.server().event_sources().active_connections())
    }
}
