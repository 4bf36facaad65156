//! What most programs need, in one `use sisk::prelude::*;`.

pub use crate::http::streams::{Event, HttpEventSourceCollection, HttpRequestEventSource, HttpStreamPingPolicy};
pub use crate::http::{
    CrossOriginResourceSharingHeaders, HttpContent, HttpRequest, HttpResponse, HttpServer, HttpServerConfiguration,
    IntoResponse, StatusCode,
};
#[cfg(feature = "tls")]
pub use crate::http::{DevelopmentCertificate, SslCertificate};
pub use crate::routing::{RequestHandler, Route, RouteMethod, Router};
pub use crate::ResultExt;
pub use crate::{
    route, route_any, route_delete, route_get, route_head, route_options, route_patch, route_post, route_prefix,
    route_put,
};
pub use std::time::Duration;
