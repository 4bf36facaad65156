//! Serving a directory with the file server: files with their type, `ETag` and `Last-Modified`, `304`
//! for a current copy, byte ranges, and a listing of directories without an index; compressed for the
//! clients that accept it (automatic response compression, feature `compression`).
//!
//! `cargo run --example file-server [DIRECTORY]`, then open http://localhost:5000/. Without a directory
//! it serves this folder of examples.
//!
//! - `GET /…` serves the directory, with listings on (`HttpFileServerHandler`, mounted with
//!   `map_file_system`).
//! - `GET /sse-demo/…` serves the SSE demo's page and script through `HttpFileServer::create_serving_route`.

use std::path::PathBuf;

use sisk::http::file_system::{HttpFileServer, HttpFileServerHandler};
use sisk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let root = std::env::args_os().nth(1).map_or_else(|| examples.clone(), PathBuf::from);

    let mut file_handler = HttpFileServerHandler::new(root);
    // enable directory listing (disabled by default)
    file_handler.allow_directory_listing = true;

    let mut r = Router::new();
    r += HttpFileServer::create_serving_route("/sse-demo", examples.join("sse-demo").join("static"));
    r.map_file_system("/", file_handler);

    let app = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_configuration(|config| config.enable_automatic_response_compression = true)
        .use_router(r)
        .build()?;
    app.start().await
}
