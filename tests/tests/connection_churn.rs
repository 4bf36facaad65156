//! Connection churn: thousands of clients that connect and leave — after a full event-stream handshake,
//! halfway through a head, or before sending anything — must leave nothing behind: the collection
//! empty, no connection or stream still counted, and the server answering.

use std::time::Duration;

use sisk_tests::{eventually, exchange, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many clients come and go, and how many at once.
const CYCLES: usize = 2_000;
const AT_ONCE: usize = 50;

/// One client: the `i`th of the churn, leaving in one of three ways.
async fn come_and_go(addr: std::net::SocketAddr, i: usize) {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return };
    match i % 3 {
        // A whole stream: wait for its first event, then leave.
        0 => {
            let request = format!("GET /sse/c{i} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_ok() {
                let mut buf = [0u8; 512];
                let mut seen = Vec::new();
                while !seen.windows(6).any(|w| w == b"data: ") {
                    match tokio::time::timeout(LIMIT, stream.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
            }
        }
        // Half a head.
        1 => {
            let _ = stream.write_all(b"GET /sse/half HTTP/1.1\r\nHost: t\r\n").await;
        }
        // Nothing at all.
        _ => {}
    }
    // Abruptly, now and then: a reset instead of a close.
    if i.is_multiple_of(7) {
        let _ = stream.into_std().and_then(|s| socket2::Socket::from(s).set_linger(Some(Duration::ZERO)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_comings_and_goings_leave_nothing_behind() {
    let server =
        TestServer::with(sisk_tests::hello_and_streams(), |c| c.header_read_timeout = Duration::from_millis(500));
    let addr = server.addr;
    let churn = async {
        for batch in (0..CYCLES).collect::<Vec<_>>().chunks(AT_ONCE) {
            let clients: Vec<_> = batch.iter().map(|&i| tokio::spawn(come_and_go(addr, i))).collect();
            for client in clients {
                client.await.unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), churn).await.expect("the churn ends in time");

    let sources = server.server.event_sources().clone();
    let counted = server.server.clone();
    eventually("the collection is empty", || sources.active_connections() == 0).await;
    eventually("no stream is counted", || counted.open_event_streams() == 0).await;
    eventually("no connection is counted", || counted.open_connections() == 0).await;
    let answer = exchange(addr, b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer:?}");
}
