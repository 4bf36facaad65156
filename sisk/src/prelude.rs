//! What most programs need, in one `use sisk::prelude::*;`.

pub use crate::http::streams::{
    Event, HttpEventSourceCollection, HttpRequestEventSource, HttpResponseStream, HttpStreamPingPolicy,
    LocalEventSource, RemoteEventSource,
};
#[cfg(feature = "json")]
pub use crate::http::Json;
pub use crate::http::{
    CrossOriginResourceSharingHeaders, HttpContent, HttpRequest, HttpResponse, HttpServer, HttpServerConfiguration,
    IntoResponse, StatusCode,
};
#[cfg(feature = "tls")]
pub use crate::http::{DevelopmentCertificate, SslCertificate};
pub use crate::routing::{RequestHandler, Route, RouteMethod, Router};
pub use crate::ResultExt;
/// The attribute macros: `#[route_get]` and the other route attributes, `#[route_prefix]`,
/// `#[request_handler]`, `#[bypass_global_request_handler]`.
pub use sisk_macros::*;
pub use std::time::Duration;
