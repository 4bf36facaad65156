//! The HTTP side of sisk, mirroring Sisk's `Sisk.Core.Http` namespace: the server and its builder,
//! requests, responses, configuration, CORS, (in [`streams`]) Server-Sent Events and response streams,
//! (in `websockets`, with the feature of that name) WebSockets, and (in [`file_system`]) serving files
//! from a directory.

mod app_state;
mod bag;
mod binding;
pub(crate) mod body;
#[cfg(feature = "compression")]
pub(crate) mod compression;
mod configuration;
pub(crate) mod cors;
#[cfg(feature = "tls")]
mod development_certificate;
pub mod file_system;
mod form;
mod forwarding;
pub mod handlers;
pub(crate) mod head_slot;
mod host;
mod http_service;
mod into_response;
#[cfg(feature = "json")]
mod json;
mod listening_host;
mod listening_port;
#[cfg(feature = "logging")]
pub(crate) mod logging;
#[cfg(feature = "multipart")]
mod multipart;
mod query;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod server;
#[cfg(feature = "tls")]
mod ssl_certificate;
pub mod streams;
#[cfg(feature = "websockets")]
pub mod websockets;

pub use bag::RequestBag;
pub use body::ResponseBody;
pub use bytes::Bytes;
pub use configuration::HttpServerConfiguration;
pub use cookie::{Cookie, SameSite};
pub use cors::CrossOriginResourceSharingHeaders;
#[cfg(feature = "tls")]
pub use development_certificate::DevelopmentCertificate;
pub use forwarding::ForwardingResolver;
pub use host::{HttpServerHostContext, HttpServerHostContextBuilder, LISTENING_PORT_VARIABLE};
pub use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
pub use http_service::HttpService;
pub use into_response::IntoResponse;
#[cfg(feature = "json")]
pub use json::Json;
pub use listening_host::ListeningHost;
pub use listening_port::{IntoListeningPort, ListeningPort};
#[cfg(feature = "logging")]
pub use logging::{LogStream, RotatingPolicy};
#[cfg(feature = "multipart")]
pub use multipart::{MultipartForm, MultipartObject};
pub use query::QueryString;
pub use request::HttpRequest;
pub use response::{HttpContent, HttpResponse};
pub use server::HttpServer;
#[cfg(feature = "tls")]
pub use ssl_certificate::SslCertificate;
