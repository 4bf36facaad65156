//! Many connections at once: 1,000 identified streams opened in parallel, found by prefix and sent to;
//! and one client that never reads while 500 others keep receiving.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use sisk::prelude::*;
use support::{eventually, read_until, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

fn identified_stream_route() -> Route {
    Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.keep_alive().await;
        sse.close()
    })
}

/// Opens `/sse/{id}` on a raw socket and reads the response head.
async fn open_raw(addr: SocketAddr, id: &str, receive_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!("GET /sse/{id} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    if receive_buffer.is_none() {
        read_until(&mut stream, "\r\n\r\n").await;
    }
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_identified_connections_in_parallel() {
    const N: usize = 1000;
    let mut r = Router::new();
    r += identified_stream_route();
    let server = TestServer::start(r);
    let addr = server.addr;

    let mut opening = JoinSet::new();
    for i in 0..N {
        opening.spawn(async move { open_raw(addr, &format!("my-connection-{i}"), None).await });
    }
    let mut streams = Vec::with_capacity(N + 1);
    while let Some(stream) = opening.join_next().await {
        streams.push(stream.unwrap());
    }
    let outsider = open_raw(addr, "outsider", None).await;
    let sources = server.server.event_sources().clone();
    eventually("every connection is registered", || sources.active_connections() == N + 1).await;

    let found = sources.find(|id| id.starts_with("my-connection-"));
    assert_eq!(found.len(), N);
    let reached = sources.broadcast_where(|id| id.starts_with("my-connection-"), &Event::new().data("hello, many"));
    assert_eq!(reached.unwrap().reached, Some(N));

    let mut reading = JoinSet::new();
    for mut stream in streams {
        reading.spawn(async move {
            read_until(&mut stream, "data: hello, many\n\n").await;
        });
    }
    while let Some(done) = reading.join_next().await {
        done.unwrap();
    }
    drop(outsider);
    eventually("the collection is back to zero", || sources.active_connections() == 0).await;
}

/// Reads a stream until `last` arrives, counting every `data:` line on the way. The bound is generous:
/// the reader starts before hundreds of others connect and the producer runs, on two shared cores.
async fn count_until(mut stream: TcpStream, last: &str) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + 3 * LIMIT;
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await.expect("all data in time").unwrap();
        assert!(n > 0, "a fast reader's stream must not end");
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(last.len()).any(|w| w == last.as_bytes()) {
            return seen.windows(6).filter(|w| w == b"data: ").count();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_while_500_others_keep_receiving() {
    const READERS: usize = 500;
    const MESSAGES: usize = 100;
    let mut r = Router::new();
    r += identified_stream_route();
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.event_source_queue_capacity = 64),
    );
    let addr = server.addr;
    let sources = server.server.event_sources().clone();

    let mut slow = open_raw(addr, "slow", Some(4096)).await;
    eventually("the slow client is registered", || sources.active_connections() == 1).await;
    let slow_source = sources.get_by_identifier("slow").unwrap();
    let mut readers = JoinSet::new();
    for i in 0..READERS {
        let stream = open_raw(addr, &format!("reader-{i}"), None).await;
        readers.spawn(count_until(stream, "data: last\n\n"));
    }
    eventually("every reader is registered", || sources.active_connections() == READERS + 1).await;

    // A producer at a steady pace: every reader keeps up, the slow client falls behind.
    let payload = "p".repeat(1024);
    let chunk = "s".repeat(64 * 1024);
    let mut sent_to_slow = 0usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..MESSAGES {
        ticker.tick().await;
        assert_eq!(
            sources.broadcast(&Event::new().data(payload.as_str())).unwrap().reached,
            Some(READERS + usize::from(slow_source.is_active()))
        );
        // Extra, larger messages for the slow client alone, so its backlog grows fast.
        for _ in 0..8 {
            if slow_source.send(&chunk) {
                sent_to_slow += chunk.len();
            }
        }
    }
    assert!(!slow_source.is_active(), "the queue bound triggered (after {} KiB)", sent_to_slow / 1024);
    println!("the slow client was cut off after {} KiB", sent_to_slow / 1024);
    sources.broadcast(&Event::new().data("last")).unwrap();

    let mut delivered = Vec::new();
    while let Some(count) = readers.join_next().await {
        delivered.push(count.unwrap());
    }
    assert!(delivered.iter().all(|&n| n == MESSAGES + 1), "every reader got every message");
    assert!(!slow_source.is_active());
    assert!(sources.get_by_identifier("slow").is_none());
    // Its connection is cut, not just its stream: the socket reaches EOF or reset once drained.
    let mut buf = vec![0u8; 1 << 20];
    let ended = tokio::time::timeout(LIMIT, async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the slow client's connection was closed by the server");
}
