//! The HTTP side of sisk, mirroring Sisk's `Sisk.Core.Http` namespace: the server and its builder,
//! requests, responses, configuration, CORS, (in [`streams`]) Server-Sent Events and response streams,
//! and (in [`file_system`]) serving files from a directory.

mod bag;
pub(crate) mod body;
mod body_reader;
mod configuration;
pub(crate) mod cors;
#[cfg(feature = "tls")]
mod development_certificate;
pub mod file_system;
mod form;
mod forwarding;
mod head_timer;
mod host;
mod http_service;
mod into_response;
#[cfg(feature = "json")]
mod json;
pub(crate) mod limits;
mod listening_port;
#[cfg(feature = "multipart")]
mod multipart;
mod query;
pub(crate) mod request;
mod request_body;
pub(crate) mod response;
mod serve;
pub(crate) mod server;
pub(crate) mod service;
#[cfg(feature = "tls")]
mod ssl_certificate;
pub mod streams;
pub(crate) mod transport;
pub(crate) mod when_woken;

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
pub use listening_port::{IntoListeningPort, ListeningPort};
#[cfg(feature = "multipart")]
pub use multipart::{MultipartForm, MultipartObject};
pub use query::QueryString;
pub use request::HttpRequest;
pub use response::{HttpContent, HttpResponse, READ_CHUNK};
pub use server::HttpServer;
#[cfg(feature = "tls")]
pub use ssl_certificate::SslCertificate;

/// Locks `mutex`. Every critical section of sisk leaves its state whole, so a lock poisoned by a panic
/// elsewhere is still usable.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads `rwlock`, poisoned or not (as [`lock`]).
pub(crate) fn read<T>(rwlock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    rwlock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `rwlock`, poisoned or not (as [`lock`]).
pub(crate) fn write<T>(rwlock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    rwlock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
