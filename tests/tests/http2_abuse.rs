//! HTTP/2 clients that abuse the protocol: a preface that goes wrong after its first bytes, floods of
//! PING and RST_STREAM frames, and a flow-control window that never opens. Each must cost the abuser its
//! own connection or stream at most, and the server must keep serving everyone else meanwhile.

use std::time::Duration;

use bytes::Bytes;
use sisk::prelude::*;
use sisk_tests::{closed_within, eventually, TestServer, LIMIT};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The client preface of HTTP/2.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn server() -> TestServer {
    TestServer::with(sisk_tests::hello_and_streams(), |c| {
        c.header_read_timeout = Duration::from_secs(5);
        c.event_source_queue_capacity = 8;
        c.event_source_queue_bytes = 256 * 1024;
    })
}

/// Asks `/hello` on a fresh HTTP/2 connection: the server still serves others.
async fn still_serves(server: &TestServer) {
    let client = reqwest::Client::builder().http2_prior_knowledge().timeout(LIMIT).build().unwrap();
    let answer = client.get(server.url("/hello")).send().await.expect("the server answers others");
    assert_eq!(answer.text().await.unwrap(), "hello");
}

/// An HTTP/2 frame: length, type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn a_preface_that_goes_wrong_after_its_first_bytes_is_closed_promptly() {
    let server = server();
    for bytes in [
        // Starts like the preface and turns into something else.
        &b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\nHost: t\r\n\r\n",
        // The whole preface, then garbage. (A valid frame other than SETTINGS first is taken by the h2
        // crate as it is; such a connection ends when it fails to answer keep-alive pings.)
        &[PREFACE, &[0xff; 64][..]].concat(),
    ] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        // Well before the 5 s head deadline: refused on what was sent, not timed out.
        assert!(closed_within(&mut stream, Duration::from_secs(3)).await, "{:?}", String::from_utf8_lossy(bytes));
    }
    still_serves(&server).await;
}

#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_is_bounded() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut flood = [PREFACE, &frame(0x4, 0, 0, &[])].concat();
    for i in 0u64..20_000 {
        flood.extend_from_slice(&frame(0x6, 0, 0, &i.to_be_bytes()));
    }
    // 20,000 PINGs (340 KB), none of whose answers is read. Bounded in time, whether or not the server
    // stops reading them (it may: it owes answers the client does not take).
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.write_all(&flood)).await;
    still_serves(&server).await;
    drop(stream);
    let counted = server.server.clone();
    eventually("the flooding connection is gone", || counted.open_connections() == 0).await;
}

#[tokio::test]
async fn a_flood_of_streams_reset_at_once_frees_every_stream_it_opened() {
    let server = server();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut opened = 0;
    for i in 0..2_000 {
        let request = http::Request::get(format!("http://t/sse/r{i}")).body(()).unwrap();
        let Ok(ready) = tokio::time::timeout(LIMIT, client.ready()).await else { break };
        let Ok(ready) = ready else { break };
        client = ready;
        let Ok((_response, mut send)) = client.send_request(request, false) else { break };
        send.send_reset(h2::Reason::CANCEL);
        opened += 1;
    }
    assert!(opened > 0);
    // Whether the server answered the flood with GOAWAY (hyper does, past a bound) or took every reset,
    // nothing the flood opened is left, and others are served.
    still_serves(&server).await;
    let sources = server.server.event_sources().clone();
    let counted = server.server.clone();
    eventually("every reset stream left the collection", || sources.active_connections() == 0).await;
    eventually("no reset stream is counted", || counted.open_event_streams() == 0).await;
    driver.abort();
}

#[tokio::test]
async fn a_window_that_never_opens_costs_the_stream_not_the_server() {
    let server = server();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    // A zero window for every stream, never raised: the server may send nothing.
    let (client, connection) =
        h2::client::Builder::new().initial_window_size(0).handshake::<_, Bytes>(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let (response, _send) =
        client.send_request(http::Request::get("http://t/flood/stuck").body(()).unwrap(), true).unwrap();
    let response = tokio::time::timeout(LIMIT, response).await.expect("the head needs no window").unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Its queue fills, and the stream is evicted; the server serves others meanwhile.
    let sources = server.server.event_sources().clone();
    eventually("the stuck stream is evicted", || sources.get_by_identifier("stuck").is_none()).await;
    still_serves(&server).await;
    let counted = server.server.clone();
    eventually("the stuck stream is no longer counted", || counted.open_event_streams() == 0).await;
    drop(response);
    driver.abort();
}
