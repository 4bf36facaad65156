//! The HTTP side of sisk, mirroring Sisk's `Sisk.Core.Http` namespace: the server and its builder,
//! requests, responses, configuration, CORS, and (in [`streams`]) Server-Sent Events.

mod bag;
pub(crate) mod body;
mod body_reader;
mod configuration;
mod cors;
mod form;
mod forwarding;
mod host;
mod into_response;
#[cfg(feature = "json")]
mod json;
pub(crate) mod limits;
mod listening_port;
#[cfg(feature = "multipart")]
mod multipart;
mod query;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod server;
pub(crate) mod service;
pub mod streams;
pub(crate) mod transport;

pub use bag::RequestBag;
pub use body::ResponseBody;
pub use configuration::HttpServerConfiguration;
pub use cookie::{Cookie, SameSite};
pub use cors::CrossOriginResourceSharingHeaders;
pub use forwarding::ForwardingResolver;
pub use host::{HttpServerHostContext, HttpServerHostContextBuilder, LISTENING_PORT_VARIABLE};
pub use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
pub use into_response::IntoResponse;
#[cfg(feature = "json")]
pub use json::Json;
pub use listening_port::{IntoListeningPort, ListeningPort};
#[cfg(feature = "multipart")]
pub use multipart::{MultipartForm, MultipartObject};
pub use query::QueryString;
pub use request::HttpRequest;
pub use response::{HttpContent, HttpResponse};
pub use server::HttpServer;
