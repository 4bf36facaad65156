//! Automatic response compression, over sockets: the encoding `Accept-Encoding` prefers, each decoded
//! back to the body sent; nothing compressed when it is off, refused, or for an event stream (read event
//! by event); a streamed body flushed chunk by chunk, so a chunk reaches the client before the next is
//! written.

mod support;

use std::sync::Arc;

use async_compression::tokio::bufread::{BrotliDecoder, DeflateDecoder, GzipDecoder, ZstdDecoder};
use futures_util::StreamExt;
use sisk::http::Bytes;
use sisk::prelude::*;
use sisk_test_support::support::Frames;
use support::{client, TestServer, LIMIT};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

const PAGE: &str = "<p>Olá, mundo! This page is long enough to be worth compressing, and says so twice.</p>";

fn server(compress: bool, gate: Arc<Semaphore>) -> TestServer {
    let mut r = Router::new();
    r.map_get("/page", |_req| async { HttpResponse::new().with_content(PAGE) });
    r.map_get("/tiny", |_req| async { "ok" });
    r.map_get("/events", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        for n in 0..3 {
            sse.send(format!("event {n} {PAGE}"));
        }
        sse.close()
    });
    r.map_get("/chunks", move |_req| {
        let gate = gate.clone();
        async move {
            let chunks = futures_util::stream::unfold(0, move |n| {
                let gate = gate.clone();
                async move {
                    if n == 2 {
                        return None;
                    }
                    if n == 1 {
                        gate.acquire().await.unwrap().forget();
                    }
                    Some((Ok::<_, std::io::Error>(Bytes::from(format!("chunk {n}: {PAGE}\n"))), n + 1))
                }
            });
            HttpResponse::new().with_header("content-type", "text/plain").with_stream(chunks)
        }
    });
    let builder = HttpServer::create_builder().use_router(r).use_configuration(move |config| {
        config.enable_automatic_response_compression = compress;
    });
    TestServer::start_with(builder)
}

async fn decode(encoding: &str, bytes: &[u8]) -> String {
    let mut text = String::new();
    match encoding {
        "br" => BrotliDecoder::new(bytes).read_to_string(&mut text).await,
        "zstd" => ZstdDecoder::new(bytes).read_to_string(&mut text).await,
        "gzip" => GzipDecoder::new(bytes).read_to_string(&mut text).await,
        "deflate" => DeflateDecoder::new(bytes).read_to_string(&mut text).await,
        other => panic!("unexpected encoding {other}"),
    }
    .unwrap_or_else(|e| panic!("{encoding} decodes: {e}"));
    text
}

async fn fetch(server: &TestServer, path: &str, accept: &str) -> reqwest::Response {
    client().get(server.url(path)).header("accept-encoding", accept).send().await.unwrap()
}

#[tokio::test]
async fn each_encoding_is_chosen_as_accept_encoding_prefers_and_decodes_to_the_page() {
    let server = server(true, Arc::new(Semaphore::new(0)));
    for (accept, chosen) in [
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("zstd, gzip", "zstd"),
        ("deflate", "deflate"),
        ("br;q=0.2, gzip;q=0.9", "gzip"),
    ] {
        let response = fetch(&server, "/page", accept).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], chosen, "{accept}");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let body = response.bytes().await.unwrap();
        assert_ne!(&body[..], PAGE.as_bytes());
        assert_eq!(decode(chosen, &body).await, PAGE, "{accept}");
    }
    for (path, accept) in [("/page", "identity"), ("/page", "gzip;q=0"), ("/tiny", "gzip")] {
        let response = fetch(&server, path, accept).await;
        assert!(response.headers().get("content-encoding").is_none(), "{path} {accept}");
        let expected = if path == "/tiny" { "ok" } else { PAGE };
        assert_eq!(response.text().await.unwrap(), expected);
    }

    let off = self::server(false, Arc::new(Semaphore::new(0)));
    let response = fetch(&off, "/page", "gzip, br").await;
    assert!(response.headers().get("content-encoding").is_none() && response.headers().get("vary").is_none());
    assert_eq!(response.text().await.unwrap(), PAGE);
}

#[tokio::test]
async fn an_event_stream_is_never_compressed_and_arrives_event_by_event() {
    let server = server(true, Arc::new(Semaphore::new(0)));
    let response = fetch(&server, "/events", "gzip, br").await;
    assert!(response.headers().get("content-encoding").is_none());
    let mut frames = Frames::from(response);
    for n in 0..3 {
        assert_eq!(frames.next().await.unwrap(), format!("data: event {n} {PAGE}\n\n"));
    }
    assert!(frames.next().await.is_none());
}

#[tokio::test]
async fn a_streamed_body_is_flushed_chunk_by_chunk() {
    let gate = Arc::new(Semaphore::new(0));
    let server = server(true, gate.clone());
    let response = fetch(&server, "/chunks", "gzip").await;
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let mut body = response.bytes_stream();
    // The second chunk waits for the gate: all that can arrive now is the first, and it must decode.
    let mut received = Vec::new();
    let mut decoded = String::new();
    while !decoded.contains("chunk 0") {
        let chunk = tokio::time::timeout(LIMIT, body.next()).await.expect("the first chunk arrives before the second");
        received.extend_from_slice(&chunk.expect("the body goes on").unwrap());
        // A stream cut after a flush decodes what it holds, then ends early (an error, after the bytes).
        let mut partial = Vec::new();
        let _ = GzipDecoder::new(&received[..]).read_to_end(&mut partial).await;
        decoded = String::from_utf8_lossy(&partial).into_owned();
    }
    assert_eq!(decoded, format!("chunk 0: {PAGE}\n"), "the first chunk, whole, before the second is written");
    gate.add_permits(1);
    while let Some(chunk) = body.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(decode("gzip", &received).await, format!("chunk 0: {PAGE}\nchunk 1: {PAGE}\n"));
}
