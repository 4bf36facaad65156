//! Every server binary of the benchmark speaks the same contract (`sisk_bench::contract`): each is started
//! as its own process, as the `compare` driver does, and checked through the driver's own clients. This
//! runs in CI; the measurements themselves do not.

use std::path::Path;
use std::time::{Duration, Instant};

use sisk_bench::client::{EventStreamClient, HttpConnection};
use sisk_bench::contract::HELLO;
use sisk_bench::driver::servers::ServerProcess;

const STEP: Duration = Duration::from_secs(5);

async fn stats(control: &mut HttpConnection) -> usize {
    let (status, body) = control.request("GET", "/stats", b"").await.expect("GET /stats");
    assert_eq!(status, 200);
    body.trim().parse().expect("a count")
}

async fn stats_reach(control: &mut HttpConnection, expected: usize) {
    let deadline = Instant::now() + STEP;
    while stats(control).await != expected {
        assert!(Instant::now() < deadline, "/stats did not reach {expected}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn next_data(stream: &mut EventStreamClient) -> String {
    let data = tokio::time::timeout(STEP, stream.next_data()).await.expect("an event in time").expect("reads");
    String::from_utf8(data.expect("the stream is open")).expect("UTF-8")
}

async fn check(name: &'static str, binary: &str) {
    let server = ServerProcess::start_binary(name, Path::new(binary)).expect("the server starts");
    let mut control = HttpConnection::connect(server.addr).await.expect("connects");
    assert_eq!(control.request("GET", "/hello", b"").await.unwrap(), (200, HELLO.to_owned()), "{name}");

    let mut a1 = EventStreamClient::open(server.addr, "/sse/a1").await.expect("opens a1");
    let mut a2 = EventStreamClient::open(server.addr, "/sse/a2").await.expect("opens a2");
    let mut b1 = EventStreamClient::open(server.addr, "/sse/b1").await.expect("opens b1");
    stats_reach(&mut control, 3).await;

    let reached = control.request("POST", "/broadcast?prefix=a", b"to a 1").await.unwrap();
    assert_eq!(reached, (200, "2".to_owned()), "{name}: prefix a reaches a1 and a2");
    assert_eq!(next_data(&mut a1).await, "to a 1", "{name}");
    assert_eq!(next_data(&mut a2).await, "to a 1", "{name}");
    let reached = control.request("POST", "/broadcast?prefix=", b"to all 2").await.unwrap();
    assert_eq!(reached, (200, "3".to_owned()), "{name}: an empty prefix reaches every stream");
    assert_eq!(next_data(&mut b1).await, "to all 2", "{name}: b1 missed nothing and got no `a` event");

    drop((a1, a2, b1));
    stats_reach(&mut control, 0).await;
}

#[tokio::test(flavor = "current_thread")]
async fn sisk_speaks_the_contract() {
    check("sisk", env!("CARGO_BIN_EXE_server-sisk")).await;
}

#[tokio::test(flavor = "current_thread")]
async fn hyper_speaks_the_contract() {
    check("hyper", env!("CARGO_BIN_EXE_server-hyper")).await;
}

#[tokio::test(flavor = "current_thread")]
async fn axum_speaks_the_contract() {
    check("axum", env!("CARGO_BIN_EXE_server-axum")).await;
}

#[tokio::test(flavor = "current_thread")]
async fn tokio_speaks_the_contract() {
    check("tokio", env!("CARGO_BIN_EXE_server-tokio")).await;
}

async fn ws_stats_reach(control: &mut HttpConnection, expected: usize) {
    let deadline = Instant::now() + STEP;
    loop {
        let (status, body) = control.request("GET", "/ws-stats", b"").await.expect("GET /ws-stats");
        assert_eq!(status, 200);
        if body.trim().parse::<usize>().expect("a count") == expected {
            return;
        }
        assert!(Instant::now() < deadline, "/ws-stats did not reach {expected}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn next_text(socket: &mut sisk_bench::driver::websockets::Socket) -> String {
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(STEP, socket.next()).await.expect("a message in time") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => return text.to_string(),
            Some(Ok(_)) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// The WebSocket routes of the contract, which `ws-compare` measures on sisk and axum.
async fn check_websockets(name: &'static str, binary: &str) {
    use futures_util::SinkExt;
    use sisk_bench::driver::websockets::connect;
    let server = ServerProcess::start_binary(name, Path::new(binary)).expect("the server starts");
    let mut control = HttpConnection::connect(server.addr).await.expect("connects");
    let mut a1 = connect(server.addr, "/ws/a1").await.expect("opens a1");
    let mut b1 = connect(server.addr, "/ws/b1").await.expect("opens b1");
    ws_stats_reach(&mut control, 2).await;
    a1.send(tokio_tungstenite::tungstenite::Message::text("echo me")).await.unwrap();
    assert_eq!(next_text(&mut a1).await, "echo me", "{name}");
    let reached = control.request("POST", "/ws-broadcast?prefix=a", b"to a").await.unwrap();
    assert_eq!(reached, (200, "1".to_owned()), "{name}");
    assert_eq!(next_text(&mut a1).await, "to a", "{name}");
    let reached = control.request("POST", "/ws-broadcast?prefix=", b"to all").await.unwrap();
    assert_eq!(reached, (200, "2".to_owned()), "{name}");
    assert_eq!(next_text(&mut b1).await, "to all", "{name}: b1 got no `a` message");
    drop((a1, b1));
    ws_stats_reach(&mut control, 0).await;
}

#[tokio::test(flavor = "current_thread")]
async fn sisk_speaks_the_websocket_contract() {
    check_websockets("sisk", env!("CARGO_BIN_EXE_server-sisk")).await;
}

#[tokio::test(flavor = "current_thread")]
async fn axum_speaks_the_websocket_contract() {
    check_websockets("axum", env!("CARGO_BIN_EXE_server-axum")).await;
}
