//! Accepting when the process is out of file descriptors (`EMFILE`): the server pauses a second between
//! tries instead of spinning, logs the episode once (not at every try), and serves the waiting client as
//! soon as descriptors are free again.
//!
//! A test binary of its own: it lowers the process's descriptor limit, which would break any test
//! running beside it.

mod support;

use std::time::Duration;

use sisk::prelude::*;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long the server is kept starved: long enough for two retries at one a second.
const STARVED_FOR: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "current_thread")]
async fn out_of_descriptors_backs_off_logs_once_and_recovers() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
    let _log = tracing::subscriber::set_default(subscriber);

    let mut r = Router::new();
    r += Route::get("/hello", |_req| async { "hello" });
    let server = TestServer::start(r);

    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let open_now = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    rlimit::setrlimit(rlimit::Resource::NOFILE, open_now + 16, hard).unwrap();
    let mut fillers = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        fillers.push(file);
    }
    // One descriptor free, for the client; the server then has none to accept it with.
    fillers.pop();
    let mut client = TcpStream::connect(server.addr).await.expect("the client takes the last descriptor");
    client.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    tokio::time::sleep(STARVED_FOR).await;

    drop(fillers);
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard).unwrap();
    let answer = read_to_close(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "the waiting client is served: {answer:?}");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("cannot accept connections").count(), 1, "one error for the episode: {log}");
    assert!(log.contains("Too many open files"), "the cause is logged: {log}");
    assert_eq!(log.matches("accepting connections again").count(), 1, "{log}");
}
