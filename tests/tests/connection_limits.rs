//! The limits on what a server holds open at once: connections (`maximum_connections`) and event streams
//! (`maximum_event_sources`). Each test fills one limit from 127.0.0.1 and checks the refusal, that the
//! clients already in are untouched, and that room made by one leaving is given to the next.

use std::time::Duration;

use sisk::prelude::*;
use sisk_tests::{closed_within, eventually, exchange, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `/sse/<id>` opens an identified stream with `get_event_source`, `/try/<id>` with
/// `try_get_event_source`; both send `open` and wait for the client to leave.
fn streams() -> Router {
    let mut r = sisk_tests::hello_and_streams();
    r += Route::get("/try/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.try_get_event_source(id.as_str())?;
        sse.send("open");
        sse.keep_alive().await;
        Ok::<_, sisk::Error>(sse.close())
    });
    r
}

/// The body a full server refuses a stream with: why, and when a browser should come back.
const REFUSED: &str = ": the server has all the event streams it may hold open; retry later\nretry: 5000\n\n";

/// Opens `GET path` and reads until the first event, or the refusal (or the whole answer, if it is not
/// a stream).
async fn open(server: &TestServer, path: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(12).any(|w| w == b"data: open\n\n") && !seen.ends_with(REFUSED.as_bytes()) {
        match tokio::time::timeout(LIMIT, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
        if seen.starts_with(b"HTTP/1.1 5") && seen.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    (stream, String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn over_the_connection_limit_a_new_connection_is_closed_at_once() {
    let server = TestServer::with(streams(), |c| c.maximum_connections = 3);
    let mut held = Vec::new();
    for i in 0..3 {
        let (stream, seen) = open(&server, &format!("/sse/c{i}")).await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen:?}");
        held.push(stream);
    }
    assert_eq!(server.server.open_connections(), 3);

    // Closed without a byte of answer, long before any timeout of the server's.
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    let _ = refused.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(LIMIT, refused.read_to_end(&mut answer)).await.expect("closed in time");
    assert!(read.is_err() || answer.is_empty(), "refused, not answered: {:?}", String::from_utf8_lossy(&answer));
    assert_eq!(server.server.open_connections(), 3, "a refused connection is not counted");

    // The streams already open still receive.
    let source = server.server.event_sources().get_by_identifier("c0").expect("c0 is open");
    assert!(source.send("still here"));
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(LIMIT, held[0].read(&mut buf)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("still here"));

    // One leaves: the next connection is served.
    drop(held.pop());
    let counted = server.server.clone();
    eventually("the closed connection is no longer counted", || counted.open_connections() == 2).await;
    let answer = exchange(server.addr, b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer:?}");
}

#[tokio::test]
async fn a_connection_is_counted_until_its_socket_is_closed() {
    let server = TestServer::with(streams(), |c| c.header_read_timeout = Duration::from_millis(300));
    // Idle: counted from the accept, released at the head timeout.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let counted = server.server.clone();
    eventually("the idle connection is counted", || counted.open_connections() == 1).await;
    assert!(closed_within(&mut idle, LIMIT).await);
    eventually("the timed-out connection is released", || counted.open_connections() == 0).await;
    // Kept alive between requests: still one.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        kept.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(LIMIT, kept.read(&mut buf)).await.unwrap().unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        assert_eq!(counted.open_connections(), 1);
    }
    drop(kept);
    eventually("the client's close releases it", || counted.open_connections() == 0).await;
}

#[tokio::test]
async fn over_the_event_source_limit_a_stream_is_refused_with_one_a_browser_retries() {
    let server = TestServer::with(streams(), |c| c.maximum_event_sources = 2);
    let (first, seen) = open(&server, "/sse/a").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen:?}");
    let (_second, seen) = open(&server, "/try/b").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen:?}");
    assert_eq!(server.server.open_event_streams(), 2);

    // Refused through both doors, with a stream that tells the browser when to retry (a 503 would end
    // an EventSource for good), and Retry-After for other clients.
    for path in ["/sse/c", "/try/c"] {
        let (_, seen) = open(&server, path).await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{path}: {seen:?}");
        assert!(seen.contains("content-type: text/event-stream; charset=utf-8\r\n"), "{path}: {seen:?}");
        assert!(seen.contains("retry-after: 5\r\n"), "{path}: {seen:?}");
        assert!(seen.ends_with(REFUSED), "{path}: {seen:?}");
    }
    assert!(server.server.event_sources().get_by_identifier("c").is_none());
    assert_eq!(server.server.open_event_streams(), 2, "a refused stream is not counted");
    // Plain requests are not limited by it.
    let answer = exchange(server.addr, b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");

    drop(first);
    let counted = server.server.clone();
    eventually("the closed stream is no longer counted", || counted.open_event_streams() == 1).await;
    let (_third, seen) = open(&server, "/sse/c").await;
    assert!(seen.starts_with("HTTP/1.1 200") && seen.contains("data: open\n\n"), "{seen:?}");
}

/// Over HTTP/2 many streams share one connection, so the connection limit does not bound them: the
/// event-stream limit does, stream by stream, and the refused one leaves its neighbours open.
#[tokio::test]
async fn over_http2_the_event_source_limit_refuses_one_stream_not_the_connection() {
    let server = TestServer::with(streams(), |c| c.maximum_event_sources = 2);
    let client = reqwest::Client::builder().http2_prior_knowledge().timeout(LIMIT).build().unwrap();
    let mut first = client.get(server.url("/sse/a")).send().await.unwrap();
    sisk_tests::events::read_until(&mut first, "data: open\n\n").await;
    let mut second = client.get(server.url("/sse/b")).send().await.unwrap();
    sisk_tests::events::read_until(&mut second, "data: open\n\n").await;
    let refused = client.get(server.url("/try/c")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::OK);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(refused.text().await.unwrap(), REFUSED, "refused with a stream that says when to come back");
    assert_eq!(server.server.open_connections(), 1);

    let source = server.server.event_sources().get_by_identifier("a").expect("a is still open");
    assert!(source.send("next"));
    let next = tokio::time::timeout(LIMIT, first.chunk()).await.expect("in time");
    assert_eq!(next.unwrap().unwrap(), "data: next\n\n");
}
