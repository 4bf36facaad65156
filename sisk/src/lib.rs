//! # sisk
//!
//! A Rust web framework that follows the API of the [Sisk](https://www.sisk-framework.org) framework
//! (C#/.NET) closely enough that its documentation reads nearly word for word in Rust, with Server-Sent
//! Events at its heart.
//!
//! ```no_run
//! use sisk::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), sisk::Error> {
//!     let mut r = Router::new();
//!     r += Route::new(RouteMethod::Get, "/", |_req| async { "Olá, mundo!" });
//!     r += Route::new(RouteMethod::Get, "/sse", |req: HttpRequest| async move {
//!         let sse = req.get_event_source(None);
//!         sse.send("Olá, mundo!");
//!         sse.close()
//!     });
//!
//!     let app = HttpServer::create_builder()
//!         .use_listening_port("http://localhost:5000/")
//!         .use_router(r)
//!         .build()?;
//!     app.start().await
//! }
//! ```
//!
//! - [`prelude`]: what most programs import, in one `use`.
//! - [`http`]: the server ([`HttpServer`](http::HttpServer)), requests, responses, configuration, CORS;
//!   request bodies as JSON, forms and multipart uploads, or streamed; responses streamed; the client
//!   behind trusted proxies ([`ForwardingResolver`](http::ForwardingResolver)); HTTPS with the `tls`
//!   feature; the server as a tower `Service` ([`into_service`](http::HttpServerHostContextBuilder::into_service)).
//! - [`http::streams`]: Server-Sent Events, and the response stream.
//! - [`http::file_system`]: the file server.
//! - [`routing`]: routes, the router, request handlers.
//! - [`backplane`]: many nodes sharing one event log (Redis Streams with the `redis` feature).
//! - `mcp` (with the `mcp` feature): MCP servers over Streamable HTTP, Sisk's `McpProvider`, on the
//!   event log.
//! - [`Error`]: the one error type, and [`ErrorKind`], what it is.
//! - Cargo features: `json` (serde: `get_json_content`, `Json`, `Event::json`) and `multipart` (multer:
//!   `get_multipart_form_content`), both on by default; `redis` (the Redis Streams backplane), `tls`
//!   (HTTPS on rustls) and `mcp` (MCP servers), off.
//! - Attribute routes: [`route_get`] and friends on free functions, picked up by
//!   [`Router::auto_scan`](routing::Router::auto_scan); controllers with [`route_prefix`] on an `impl`
//!   block, picked up by [`Router::set_object`](routing::Router::set_object); [`request_handler`] beside
//!   them.

#![deny(missing_docs, missing_debug_implementations)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod backplane;
mod book;
mod engine;
mod error;
pub mod http;
#[cfg(feature = "mcp")]
pub mod mcp;
mod notice;
pub mod prelude;
pub mod routing;
mod sync;

pub use error::{Error, ErrorKind, ResultExt};
pub use sisk_macros::*;
