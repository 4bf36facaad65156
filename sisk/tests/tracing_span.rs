//! Each request is traced in one span that records method, path, status and elapsed time.

mod support;

use sisk::prelude::*;
use support::{client, Captured, TestServer};

// A current-thread runtime: the server's tasks run on this thread, under this thread's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn every_request_has_a_span_with_method_path_status_and_elapsed() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut r = Router::new();
    r += Route::get("/traced/<id>", |_req| async { (StatusCode::ACCEPTED, "ok") });
    let server = TestServer::start(r);
    let res = client().get(server.url("/traced/7?x=1")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = log.lines().find(|l| l.contains("answered")).unwrap_or_else(|| panic!("no answered line in {log}"));
    assert!(line.contains("request{method=GET path=/traced/7"), "{line}");
    assert!(line.contains("status=202") && line.contains("elapsed_ms="), "{line}");
}
