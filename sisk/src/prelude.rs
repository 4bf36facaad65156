//! What most programs need, in one `use sisk::prelude::*;`.
//!
//! With it come the attribute macros: [`route_get`](macro@route_get) and the other route attributes,
//! [`route`](macro@route), [`route_prefix`](macro@route_prefix),
//! [`request_handler`](macro@request_handler) and
//! [`bypass_global_request_handler`](macro@bypass_global_request_handler).

pub use crate::http::streams::{
    Event, HttpEventSourceCollection, HttpRequestEventSource, HttpResponseStream, HttpStreamPingPolicy,
    LocalEventSource, RemoteEventSource,
};
#[cfg(feature = "websockets")]
pub use crate::http::websockets::{HttpWebSocket, HttpWebSocketCollection, WebSocketMessage};
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
// The attribute macros (see the module's docs). No doc comment here: rustdoc would put it at the head of
// every macro's own documentation.
pub use sisk_macros::*;
pub use std::time::Duration;
