//! The HTTP side of sisk, mirroring Sisk's `Sisk.Core.Http` namespace: the server and its builder,
//! requests, responses, configuration, CORS, and (in [`streams`]) Server-Sent Events.

mod bag;
pub(crate) mod body;
mod configuration;
mod cors;
mod head_timer;
mod host;
mod into_response;
pub(crate) mod limits;
mod listening_port;
mod query;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod server;
pub(crate) mod service;
pub mod streams;
pub(crate) mod transport;
pub(crate) mod when_woken;

pub use bag::RequestBag;
pub use body::ResponseBody;
pub use configuration::HttpServerConfiguration;
pub use cookie::{Cookie, SameSite};
pub use cors::CrossOriginResourceSharingHeaders;
pub use host::{HttpServerHostContext, HttpServerHostContextBuilder, LISTENING_PORT_VARIABLE};
pub use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
pub use into_response::IntoResponse;
pub use listening_port::{IntoListeningPort, ListeningPort};
pub use query::QueryString;
pub use request::HttpRequest;
pub use response::{HttpContent, HttpResponse};
pub use server::HttpServer;
