//! Event streams written outside hyper's dispatcher (`sisk/src/engine/serve/direct.rs`): a first request
//! that asks for an event stream is answered by the pipeline before hyper reads it, so an answer that is
//! not a stream must reach the client through hyper without the handler running twice, and a stream that
//! ends cleanly must leave its connection serving the requests that follow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sisk::prelude::*;
use sisk_tests::{TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads from `stream` until what arrived ends with `end`; returns it.
async fn read_until(stream: &mut TcpStream, end: &[u8]) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    while !seen.ends_with(end) {
        let n = tokio::time::timeout(LIMIT, stream.read(&mut buffer)).await.expect("in time").expect("readable");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn routes(calls: Arc<AtomicUsize>) -> Router {
    let mut r = Router::new();
    r += Route::get("/count", move |_req: HttpRequest| {
        let calls = calls.clone();
        async move { (calls.fetch_add(1, Ordering::SeqCst) + 1).to_string() }
    });
    r += Route::get("/short", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("only");
        sse.close()
    });
    r += Route::get("/hello", |_req: HttpRequest| async { "hello" });
    r
}

#[tokio::test]
async fn an_answer_that_is_not_a_stream_is_made_once_and_sent_by_hyper() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = TestServer::with(routes(calls.clone()), |_| {});
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /count HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let first = read_until(&mut stream, b"\r\n\r\n1").await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");
    stream.write_all(request).await.unwrap();
    let second = read_until(&mut stream, b"\r\n\r\n2").await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "each request ran its handler once");
}

#[tokio::test]
async fn a_stream_that_ends_cleanly_leaves_its_connection_serving() {
    let server = TestServer::with(routes(Arc::default()), |_| {});
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /short HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n").await.unwrap();
    let events = read_until(&mut stream, b"0\r\n\r\n").await;
    assert!(events.starts_with("HTTP/1.1 200"), "{events:?}");
    assert!(events.contains("text/event-stream") && events.contains("data: only\n\n"), "{events:?}");
    let date = events.lines().find_map(|line| line.strip_prefix("date: ")).expect("a Date header, as hyper sends");
    assert!(httpdate::parse_http_date(date.trim_end()).is_ok(), "{date:?}");
    stream.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let hello = read_until(&mut stream, b"hello").await;
    assert!(hello.starts_with("HTTP/1.1 200"), "{hello:?}");
}
