//! What the server does with failures: a handler that panics or fails with a foreign error, a port in
//! use, and shutdown with requests in flight. (Malformed, oversized and slow requests, on raw sockets,
//! are the suites of `tests/tests`: `request_framing`, `hostile_clients`.)

mod support;

use std::time::Duration;

use sisk::prelude::*;
use support::{client, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_server_keeps_serving() {
    let mut r = Router::new();
    r += Route::get("/boom", |_req| async {
        panic!("handler bug");
        #[allow(unreachable_code)]
        "never"
    });
    r += Route::get("/fine", |_req| async { "fine" });
    let server = TestServer::start(r);
    for _ in 0..3 {
        let res = client().get(server.url("/boom")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 500);
    }
    let res = client().get(server.url("/fine")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "fine");
}

/// Tells a test that a handler was entered: call the function from the handler, await the receiver.
fn entry_signal() -> (impl Fn() + Send + Sync + 'static, tokio::sync::oneshot::Receiver<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let enter = move || {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
    };
    (enter, rx)
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let (enter, entered_rx) = entry_signal();
    let mut r = Router::new();
    r += Route::get("/slow", move |_req| {
        enter();
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        }
    });
    let server = TestServer::start(r);
    let url = server.url("/slow");
    let request = tokio::spawn(async move { client().get(url).send().await.unwrap().text().await.unwrap() });
    entered_rx.await.unwrap();
    server.stop().await;
    assert_eq!(request.await.unwrap(), "done");
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let server = TestServer::start(Router::new());
    let err = HttpServer::create_builder()
        .use_listening_port(format!("http://127.0.0.1:{}/", server.addr.port()))
        .build()
        .unwrap_err();
    assert!(err.kind() == sisk::ErrorKind::Io && err.message().contains("cannot listen"), "{err}");
}

#[tokio::test]
async fn a_shutdown_future_stops_the_server_and_the_deadline_cuts_off_a_handler_that_never_ends() {
    let (enter, entered_rx) = entry_signal();
    let mut r = Router::new();
    r += Route::get("/forever", move |_req| {
        enter();
        async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }
    });
    let app = HttpServer::create_builder()
        .use_listening_port("http://127.0.0.1:0/")
        .use_router(r)
        .use_configuration(|config| config.shutdown_timeout = Duration::from_millis(200))
        .build()
        .unwrap();
    let addr = app.local_addr();
    let (signal, shutdown) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.start_with_shutdown(async {
        let _ = shutdown.await;
    }));
    let mut request = TcpStream::connect(addr).await.unwrap();
    request.write_all(b"GET /forever HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    entered_rx.await.unwrap();

    signal.send(()).unwrap();
    // The handler sleeps for an hour: only the 200 ms deadline can end the shutdown within LIMIT.
    let finished = tokio::time::timeout(LIMIT, serving).await.expect("the deadline ends the shutdown");
    finished.unwrap().unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(LIMIT, request.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the request left over is cut off, not left hanging");
    assert!(answer.is_empty(), "and not answered: {:?}", String::from_utf8_lossy(&answer));
    assert!(TcpStream::connect(addr).await.is_err(), "the port no longer accepts connections");
}

/// Regression: `?` could not take a foreign error (an `io::Error`, a driver's) in a handler returning
/// `Result<_, sisk::Error>`. With `or_internal_error` it answers a bare 500 and keeps the cause out of
/// the response.
#[tokio::test]
async fn a_foreign_error_taken_with_or_internal_error_is_a_bare_500() {
    let mut r = Router::new();
    r += Route::get("/config", |_req| async {
        let text = std::fs::read_to_string("/definitely/not/here.toml").or_internal_error()?;
        Ok::<_, sisk::Error>(text)
    });
    let server = TestServer::start(r);
    let res = client().get(server.url("/config")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(res.text().await.unwrap(), "", "the cause is logged, never sent");
}
