//! Regression: a program with attribute routes whose router never called `auto_scan` built and started
//! without a word, and answered every one of those routes with `404`. `build()` now warns, naming them.

mod support;

use sisk::prelude::*;
use support::Captured;

#[route_get("/forgotten")]
async fn forgotten(_req: HttpRequest) -> &'static str {
    "found"
}

/// What `build()` logs for `router`.
fn build_log(router: Router) -> String {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
    tracing::subscriber::with_default(subscriber, || {
        let app = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(router).build();
        drop(app.expect("the server builds"));
    });
    let log = captured.0.lock().unwrap().clone();
    String::from_utf8(log).unwrap()
}

#[test]
fn building_without_auto_scan_warns_and_names_the_routes() {
    let log = build_log(Router::new());
    assert!(log.contains("WARN") && log.contains("/forgotten") && log.contains("auto_scan"), "{log}");
}

#[test]
fn no_warning_once_the_routes_are_picked_up_or_ignored_on_purpose() {
    let mut scanned = Router::new();
    scanned.auto_scan();
    assert!(!build_log(scanned).contains("WARN"));
    let mut ignored = Router::new();
    ignored.ignore_attribute_routes();
    assert!(!build_log(ignored).contains("WARN"));
}
