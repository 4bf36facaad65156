//! Serving files from a directory, mirroring Sisk's `Sisk.Core.Http.FileSystem` namespace:
//! [`HttpFileServerHandler`] answers requests with files, and [`HttpFileServer::create_serving_route`] /
//! [`Router::map_file_system`](crate::routing::Router::map_file_system) mount it on a router.
//!
//! ```no_run
//! use sisk::prelude::*;
//!
//! # async fn run() -> Result<(), sisk::Error> {
//! let mut r = Router::new();
//! r.map_file_system("/", "wwwroot");
//! let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
//! app.start().await
//! # }
//! ```
//!
//! ## What a request cannot do
//!
//! No request reads outside the root: the path is taken as the client sent it and every segment is
//! decoded and checked on its own (`..`, `%2e%2e`, an encoded `/` or `\`, a backslash, NUL, a drive
//! prefix like `C:` are refused with `400`), then the file found is canonicalised and must lie under the
//! canonical root, so a symbolic link leading out of it is refused with `403`. Only regular files and
//! directories are served.
//!
//! ## Ranges and caching
//!
//! Each file carries a strong `ETag` made of its size and modification time, and `Last-Modified`.
//! `If-None-Match` (or, without it, `If-Modified-Since`) answers `304 Not Modified`. A single byte range
//! answers `206 Partial Content`; a range past the end answers `416` with `Content-Range: bytes */len`;
//! several ranges are answered with the whole file (`200`), which RFC 9110 allows, rather than
//! `multipart/byteranges`. `If-Range` with an older tag or date gets the whole file too.
//!
//! ## Memory
//!
//! A file is read [`buffer_size`](HttpFileServerHandler::buffer_size) bytes at a time (64 KiB by default)
//! and only as fast as the client takes it. Measured with the `file-server` example (debug build) serving
//! a 1 GiB file on 127.0.0.1: the server's resident memory was 8.0 MB idle, and at most 9.8 MB while one
//! client downloaded the whole file (about 200 MB/s) and another read it at 1 MB/s.
//!
//! The module is split by concept: `resolve` (request path to a checked file), `conditional`
//! (validators and `304`), `range` (the `Range` header), `listing` (the directory page), `content_type`
//! (media types from `mime_guess`), `handler` (the answer), `route` (mounting it on a router).

mod conditional;
mod content_type;
mod handler;
mod listing;
mod range;
mod resolve;
mod route;

pub(crate) use content_type::content_type_for;
pub use handler::HttpFileServerHandler;
pub use route::HttpFileServer;
