//! Streamed response bodies over real sockets: `with_stream`, `with_reader`, `from_file`, and the
//! response stream a handler writes as it goes (`get_response_stream`) — its head, its length, the errors
//! of its misuse, backpressure on a client that does not read, and the producer stopped when the client
//! leaves mid-body. Every loop is bounded in count and time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sisk::prelude::*;
use sisk::ErrorKind;
mod support;
use support::{eventually, exchange, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The most chunks a producer in these tests makes before giving up: far more than any client here reads.
const MAX_CHUNKS: u64 = 100_000;
const CHUNK: usize = 64 * 1024;

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes()
}

/// The body of a raw HTTP/1.1 answer (after the blank line).
fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn chunks(parts: &'static [&'static str]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter(parts.iter().map(|part| Ok(Bytes::from_static(part.as_bytes()))))
}

#[tokio::test]
async fn a_stream_is_sent_chunked_and_a_sized_reader_with_its_length() {
    let mut r = Router::new();
    r += Route::get("/stream", |_req| async { HttpResponse::new().with_stream(chunks(&["one ", "two ", "three"])) });
    r += Route::get("/reader", |_req| async { HttpResponse::new().with_reader(&b"read to its end"[..]) });
    r += Route::get("/sized", |_req| async { HttpResponse::new().with_sized_reader(&b"0123456789"[..], 4) });
    let server = TestServer::with(r, |_| {});

    let answer = exchange(server.addr, &get("/stream")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{answer:?}");
    assert!(answer.contains("content-type: application/octet-stream"), "{answer:?}");
    let text = reqwest::get(server.url("/stream")).await.unwrap().text().await.unwrap();
    assert_eq!(text, "one two three");

    let text = reqwest::get(server.url("/reader")).await.unwrap().text().await.unwrap();
    assert_eq!(text, "read to its end");

    let answer = exchange(server.addr, &get("/sized")).await;
    assert!(answer.contains("content-length: 4\r\n"), "{answer:?}");
    assert_eq!(body_of(&answer), "0123");
}

#[tokio::test]
async fn a_file_is_streamed_with_its_type_and_length_and_head_gets_no_body() {
    let dir = std::env::temp_dir().join(format!("sisk-from-file-{}-{}", std::process::id(), support::unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let big: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("page.html"), "<p>hi</p>").unwrap();
    let root = dir.clone();
    let mut r = Router::new();
    r += Route::get("/files/<name>", move |req: HttpRequest| {
        let path = root.join(req.route_parameter("name").unwrap_or_default());
        async move { HttpResponse::from_file(path).await }
    });
    let server = TestServer::with(r, |_| {});

    let response = reqwest::get(server.url("/files/big.bin")).await.unwrap();
    assert_eq!(response.headers()["content-length"], big.len().to_string().as_str());
    assert_eq!(response.bytes().await.unwrap(), big);
    let response = reqwest::get(server.url("/files/page.html")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let response = reqwest::get(server.url("/files/missing.txt")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), "file not found", "the server's path is not told");

    let answer = exchange(server.addr, b"HEAD /files/page.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.contains("content-length: 9\r\n"), "{answer:?}");
    assert_eq!(body_of(&answer), "", "HEAD sends no body");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_response_stream_sends_its_head_then_what_is_written() {
    let mut r = Router::new();
    r += Route::get("/chunked", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_status(StatusCode::CREATED)?;
        stream.set_header("Content-Type", "text/csv")?;
        stream.append_header("X-Part", "a")?;
        stream.append_header("X-Part", "b")?;
        for line in ["id,total\n", "1,10\n", "2,20\n"] {
            stream.write(line).await?;
        }
        stream.close()
    });
    r += Route::get("/sized", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_content_length(10)?;
        stream.write("01234").await?;
        stream.write(Bytes::from_static(b"56789")).await?;
        assert_eq!(stream.written(), 10);
        stream.close()
    });
    let server = TestServer::with(r, |_| {});

    let answer = exchange(server.addr, &get("/chunked")).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer:?}");
    assert!(answer.contains("content-type: text/csv\r\n"), "{answer:?}");
    assert!(answer.contains("x-part: a\r\nx-part: b\r\n"), "{answer:?}");
    assert!(answer.contains("transfer-encoding: chunked"), "{answer:?}");
    let text = reqwest::get(server.url("/chunked")).await.unwrap().text().await.unwrap();
    assert_eq!(text, "id,total\n1,10\n2,20\n");

    let answer = exchange(server.addr, &get("/sized")).await;
    assert!(answer.contains("content-length: 10\r\n"), "{answer:?}");
    assert!(!answer.contains("transfer-encoding"), "{answer:?}");
    assert_eq!(body_of(&answer), "0123456789");
}

#[tokio::test]
async fn misusing_a_response_stream_is_an_error_that_says_what_to_do() {
    let seen: Arc<Mutex<Vec<sisk::Error>>> = Arc::default();
    let errors = seen.clone();
    let mut r = Router::new();
    r += Route::get("/misuse", move |req: HttpRequest| {
        let errors = errors.clone();
        async move {
            let stream = req.get_response_stream()?;
            let mut found = Vec::new();
            found.push(req.get_response_stream().unwrap_err());
            found.push(req.try_get_event_source(None).unwrap_err());
            stream.set_content_length(4)?;
            found.push(stream.write("too long").await.unwrap_err());
            stream.write("ab").await?;
            found.push(stream.set_header("X-Late", "1").unwrap_err());
            found.push(stream.set_status(StatusCode::ACCEPTED).unwrap_err());
            found.push(stream.set_content_length(2).unwrap_err());
            stream.write("cd").await?;
            found.push(stream.write("e").await.unwrap_err());
            errors.lock().unwrap().extend(found);
            stream.close()
        }
    });
    let server = TestServer::with(r, |_| {});
    let answer = exchange(server.addr, &get("/misuse")).await;
    assert_eq!(body_of(&answer), "abcd", "{answer:?}");

    let errors = seen.lock().unwrap().clone();
    assert_eq!(errors.len(), 7, "{errors:?}");
    assert_eq!([errors[0].kind(), errors[1].kind()], [ErrorKind::ResponseStreamAlreadyOpen; 2]);
    assert_eq!(errors[2].kind(), ErrorKind::ContentLengthMismatch, "{:?}", errors[2]);
    for late in &errors[3..6] {
        assert_eq!(late.kind(), ErrorKind::HeadersAlreadySent, "{late:?}");
    }
    assert_eq!(errors[6].kind(), ErrorKind::ContentLengthMismatch);
}

#[tokio::test]
async fn a_stream_closed_short_or_whose_handler_panics_is_a_500_before_the_head_and_a_cut_after() {
    let mut r = Router::new();
    r += Route::get("/nothing", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_content_length(10)?;
        stream.close()
    });
    r += Route::get("/short", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_content_length(10)?;
        stream.write("0123").await?;
        stream.close()
    });
    r += Route::get("/panics", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.write("0123").await?;
        if stream.written() > 0 {
            panic!("the handler fails after its first write");
        }
        stream.close()
    });
    r += Route::get("/returns-early", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_content_length(10)?;
        stream.write("0123").await?;
        Ok::<_, sisk::Error>(())
    });
    let server = TestServer::with(r, |_| {});

    let answer = exchange(server.addr, &get("/nothing")).await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer:?}");
    for path in ["/short", "/returns-early"] {
        let answer = exchange(server.addr, &get(path)).await;
        assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("content-length: 10\r\n"), "{answer:?}");
        assert_eq!(body_of(&answer), "0123", "the connection is cut after what was written");
        let error = reqwest::get(server.url(path)).await.unwrap().bytes().await;
        assert!(error.is_err(), "a client sees the body fail: {error:?}");
    }
    // Chunked, a handler that panics after its first write breaks the body: no final chunk.
    let answer = exchange(server.addr, &get("/panics")).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("0123"), "{answer:?}");
    assert!(!answer.ends_with("0\r\n\r\n"), "{answer:?}");
    let error = reqwest::get(server.url("/panics")).await.unwrap().bytes().await;
    assert!(error.is_err(), "a client sees the body fail: {error:?}");
}

/// Connects, sends a GET, reads the head and a little of the body, and returns the socket.
async fn start_reading(server: &TestServer, path: &str) -> TcpStream {
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(&get(path)).await.unwrap();
    let mut read = 0;
    let mut buf = vec![0u8; CHUNK];
    while read < 2 * CHUNK {
        let n = tokio::time::timeout(LIMIT, socket.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the server ended the body early");
        read += n;
    }
    socket
}

#[tokio::test]
async fn a_client_that_leaves_mid_body_stops_the_writer() {
    let (report, outcome) = oneshot::channel::<(u64, sisk::Error)>();
    let report = Arc::new(Mutex::new(Some(report)));
    let mut r = Router::new();
    r += Route::get("/endless", move |req: HttpRequest| {
        let report = report.clone();
        async move {
            let stream = req.get_response_stream()?;
            let chunk = Bytes::from(vec![b'x'; CHUNK]);
            for written in 0..MAX_CHUNKS {
                if let Err(err) = stream.write(chunk.clone()).await {
                    if let Some(report) = report.lock().unwrap().take() {
                        let _ = report.send((written, err));
                    }
                    break;
                }
            }
            stream.close()
        }
    });
    let server = TestServer::with(r, |_| {});
    let socket = start_reading(&server, "/endless").await;
    drop(socket);
    let (written, err) = tokio::time::timeout(LIMIT, outcome).await.expect("the writer stopped").unwrap();
    assert_eq!(err.kind(), ErrorKind::ResponseStreamClosed, "{err:?}");
    assert!(written * (CHUNK as u64) < 64 * 1024 * 1024, "stopped after {written} writes");
}

/// Counts the chunks a stream yields and tells when it is dropped.
struct Producer {
    made: Arc<AtomicU64>,
    dropped: Option<oneshot::Sender<()>>,
}

impl futures_util::Stream for Producer {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let made = self.made.fetch_add(1, Ordering::SeqCst);
        std::task::Poll::Ready((made < MAX_CHUNKS).then(|| Ok(Bytes::from(vec![b'y'; CHUNK]))))
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(dropped) = self.dropped.take() {
            let _ = dropped.send(());
        }
    }
}

#[tokio::test]
async fn a_stream_is_pulled_only_as_fast_as_the_client_reads_and_dropped_when_it_leaves() {
    let made = Arc::new(AtomicU64::new(0));
    let (dropped, on_drop) = oneshot::channel();
    let producer = Arc::new(Mutex::new(Some(Producer { made: made.clone(), dropped: Some(dropped) })));
    let mut r = Router::new();
    r += Route::get("/produced", move |_req| {
        let producer = producer.lock().unwrap().take();
        async move {
            match producer {
                Some(producer) => HttpResponse::new().with_stream(producer),
                None => HttpResponse::from_status(StatusCode::GONE),
            }
        }
    });
    let server = TestServer::with(r, |_| {});
    let socket = start_reading(&server, "/produced").await;
    // The client reads no more: the producer is pulled until the socket's buffers are full, then waits.
    let mut settled = made.load(Ordering::SeqCst);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = made.load(Ordering::SeqCst);
        if now == settled {
            break;
        }
        settled = now;
    }
    assert!(settled * (CHUNK as u64) < 64 * 1024 * 1024, "{settled} chunks pulled for a client that stopped reading");
    drop(socket);
    tokio::time::timeout(LIMIT, on_drop).await.expect("the producer is dropped when the client leaves").unwrap();
}

#[tokio::test]
async fn a_writer_waits_for_a_client_that_does_not_read() {
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let mut r = Router::new();
    r += Route::get("/flood", move |req: HttpRequest| {
        let counter = counter.clone();
        async move {
            let stream = req.get_response_stream()?;
            let chunk = Bytes::from(vec![b'z'; CHUNK]);
            for _ in 0..MAX_CHUNKS {
                if stream.write(chunk.clone()).await.is_err() {
                    break;
                }
                counter.fetch_add(1, Ordering::SeqCst);
            }
            stream.close()
        }
    });
    // Only the byte bound can hold the writer back: the message bound is as large as the loop.
    let server = TestServer::with(r, |c| {
        c.response_stream_queue_bytes = 4 * CHUNK;
        c.response_stream_queue_capacity = MAX_CHUNKS as usize;
    });
    let socket = start_reading(&server, "/flood").await;
    eventually("the writer has written past what was read", || written.load(Ordering::SeqCst) > 2).await;
    let mut settled = written.load(Ordering::SeqCst);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = written.load(Ordering::SeqCst);
        if now == settled {
            break;
        }
        settled = now;
    }
    assert!(
        settled * (CHUNK as u64) < 64 * 1024 * 1024,
        "{settled} writes completed for a client that stopped reading"
    );
    drop(socket);
}

#[tokio::test]
async fn streamed_bodies_and_response_streams_work_over_http2() {
    let mut r = Router::new();
    r += Route::get("/stream", |_req| async { HttpResponse::new().with_stream(chunks(&["one ", "two"])) });
    r += Route::get("/written", |req: HttpRequest| async move {
        let stream = req.get_response_stream()?;
        stream.set_content_length(6)?;
        stream.write("abc").await?;
        stream.write("def").await?;
        stream.close()
    });
    let server = TestServer::with(r, |_| {});
    let client = reqwest::Client::builder().http2_prior_knowledge().timeout(LIMIT).build().unwrap();
    let response = client.get(server.url("/stream")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "one two");
    let response = client.get(server.url("/written")).send().await.unwrap();
    assert_eq!(response.headers()["content-length"], "6");
    assert_eq!(response.text().await.unwrap(), "abcdef");
}
