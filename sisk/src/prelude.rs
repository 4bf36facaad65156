//! What most programs need, in one `use sisk::prelude::*;`.

pub use crate::http::streams::{Event, HttpEventSourceCollection, HttpRequestEventSource, HttpStreamPingPolicy};
pub use crate::http::{
    CrossOriginResourceSharingHeaders, HttpContent, HttpRequest, HttpResponse, HttpServer, HttpServerConfiguration,
    IntoResponse, StatusCode,
};
pub use crate::routing::{RequestHandler, Route, RouteMethod, Router};
pub use std::time::Duration;
