//! Streaming response content, as Sisk's "Streaming content" page does it: a file sent as a stream
//! (`HttpResponse::from_file`), a body written piece by piece through the response stream
//! (`req.get_response_stream()`), with a known length or chunked, and a body pulled from a `Stream`.
//!
//! `cargo run --example streaming`, then:
//!
//! - `GET /source` sends this file, read as the client takes it (`from_file`).
//! - `GET /copy` copies this file into the response stream, with its length declared first.
//! - `GET /report` writes a CSV report line by line, chunked.
//! - `GET /numbers` streams the numbers 1 to 10,000 from a `Stream`.

use std::path::Path;

use futures_util::StreamExt;
use sisk::http::Bytes;
use sisk::prelude::*;
use tokio::io::AsyncReadExt;

/// This file: what the routes send.
const THIS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/streaming.rs");

async fn source(_req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let res = HttpResponse::from_file(THIS_FILE)
        .await?
        .with_header("Content-Disposition", "inline; filename=\"streaming.rs\"");
    Ok(res)
}

async fn copy(request: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    // in this form of sending, the status and headers are set before the content is sent
    let response_stream = request.get_response_stream()?;
    response_stream.set_status(StatusCode::OK)?;
    response_stream.set_header("Content-Type", "text/plain; charset=utf-8")?;

    let mut file = tokio::fs::File::open(Path::new(THIS_FILE)).await.or_internal_error()?;
    // the content length too, when it is known (without it, the content is sent chunked)
    response_stream.set_content_length(file.metadata().await.or_internal_error()?.len())?;

    // and then, write to the response stream
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = file.read(&mut buffer).await.or_internal_error()?;
        if read == 0 {
            break;
        }
        response_stream.write(Bytes::copy_from_slice(&buffer[..read])).await?;
    }
    response_stream.close()
}

async fn report(request: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let stream = request.get_response_stream()?;
    stream.set_header("Content-Type", "text/csv")?;
    stream.write("id,square\n").await?;
    for id in 1..=100u64 {
        // each write waits while the client is behind, so the report never sits whole in memory
        stream.write(format!("{id},{}\n", id * id)).await?;
    }
    stream.close()
}

async fn numbers(_req: HttpRequest) -> HttpResponse {
    let lines =
        futures_util::stream::iter(1..=10_000u32).map(|n| Ok::<_, std::io::Error>(Bytes::from(format!("{n}\n"))));
    HttpResponse::new().with_header("Content-Type", "text/plain; charset=utf-8").with_stream(lines)
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/source", source);
    r += Route::get("/copy", copy);
    r += Route::get("/report", report);
    r += Route::get("/numbers", numbers);

    let app = HttpServer::create_builder().use_listening_port("http://localhost:5000/").use_router(r).build()?;
    app.start().await
}
