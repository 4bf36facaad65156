//! Connections that go quiet: idle ones, and half-open ones whose client shut its write side. An idle
//! connection is closed at the head deadline; a client that shuts its write side after a request still
//! gets its answer, and then the connection is closed, so neither kind holds a descriptor for long.

use std::time::Duration;

use sisk::prelude::*;
use sisk_tests::{closed_within, eventually, read_to_close, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn routes() -> Router {
    let mut r = sisk_tests::hello_and_streams();
    // Answers after a pause, so the client's shutdown arrives while the request is being handled.
    r += Route::get("/slow", |_req| async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        "slow hello"
    });
    r += Route::post("/echo", |req: HttpRequest| async move {
        let body = req.body_bytes().await?;
        Ok::<_, sisk::Error>(format!("{} bytes", body.len()))
    });
    r
}

fn server() -> TestServer {
    TestServer::with(routes(), |c| c.header_read_timeout = Duration::from_millis(500))
}

#[tokio::test]
async fn idle_connections_are_closed_at_the_head_deadline_and_uncounted() {
    let server = server();
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Idle after a first request, too: the wait for the next one is bounded the same way.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(LIMIT, kept.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    idle.push(kept);
    for stream in &mut idle {
        assert!(closed_within(stream, LIMIT).await, "an idle connection is closed");
    }
    let counted = server.server.clone();
    eventually("no connection is counted", || counted.open_connections() == 0).await;
}

#[tokio::test]
async fn a_client_that_shuts_its_write_side_still_gets_its_answer() {
    let server = server();
    for request in [
        &b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /hello HTTP/1.0\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        stream.shutdown().await.unwrap();
        let answer = read_to_close(&mut stream).await;
        let shown = String::from_utf8_lossy(request);
        assert!(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"), "{shown:?}: {answer:?}");
        assert!(answer.ends_with("hello") || answer.ends_with("5 bytes"), "{shown:?}: {answer:?}");
    }
    let counted = server.server.clone();
    eventually("every half-open connection was closed", || counted.open_connections() == 0).await;
}

#[tokio::test]
async fn a_half_open_event_stream_is_closed_and_leaves_the_collection() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /sse/half HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n").await.unwrap();
    stream.shutdown().await.unwrap();
    // A client whose data ended cannot be told from one that left (and an EventSource never shuts its
    // write side): its stream is cut, without waiting for a write that would fail.
    assert!(closed_within(&mut stream, LIMIT).await, "the half-open stream is closed");
    let sources = server.server.event_sources().clone();
    let counted = server.server.clone();
    eventually("the stream left the collection", || sources.active_connections() == 0).await;
    eventually("the stream is no longer counted", || counted.open_event_streams() == 0).await;
    eventually("the connection is no longer counted", || counted.open_connections() == 0).await;
}
