//! Refused event streams (issue 18, points 4 and 8): `get_event_source` refuses with a value, never by
//! unwinding, and each refusal gets the answer meant for it — a stream a browser retries for a full
//! server or a handler's `503`, the 4xx for what must stop it.
//!
//! A test binary of its own: the panic hook these tests count with is global to the process.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use sisk::http::streams::IdentifierPolicy;
use sisk::prelude::*;
use sisk::ErrorKind;
use support::{eventually, exchange, read_until, reports, Reporter, TestServer, LIMIT};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Calls of the panic hook since [`count_panics`] installed it.
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Replaces the panic hook with one that counts its calls (and still prints them, for a failing run).
fn count_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            print(info);
        }));
    });
}

/// The body a full server refuses a stream with: why, as a comment, and when to come back.
const FULL: &str = ": the server has all the event streams it may hold open; retry later\nretry: 5000\n\n";

/// What a refused handle answered inside its handler.
#[derive(Debug)]
struct Probe {
    kind: Option<ErrorKind>,
    sent: bool,
    sent_async: bool,
    active: bool,
    header_refused_with_it: bool,
    waited: Duration,
}

/// `/sse/<id>` is the seed's handler: `get_event_source(id)` without `?`, a message, a wait, `close()`.
/// `/query?id=…` the same with an identifier from the query (a control character gets that far).
/// `/probe/<id>` reports what a refused handle does before closing it.
fn router(probes: Reporter<Probe>) -> Router {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.send("open");
        sse.wait_for_fail(Duration::from_secs(60)).await;
        sse.close()
    });
    r += Route::get("/query", |req: HttpRequest| async move {
        let id = req.query().get("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::get("/probe/<id>", move |req: HttpRequest| {
        let probes = probes.clone();
        async move {
            let id = req.route_parameter("id").unwrap_or_default().to_owned();
            let sse = req.get_event_source(id.as_str());
            let started = tokio::time::Instant::now();
            sse.wait_for_fail(Duration::from_secs(60)).await;
            sse.keep_alive().await;
            let waited = started.elapsed();
            sse.with_ping(|ping| {
                ping.interval = Duration::from_millis(10);
                ping.start();
            });
            let header = sse.append_header("X-Late", "no");
            probes.report(Probe {
                kind: sse.refusal().map(sisk::Error::kind),
                sent: sse.send("nobody"),
                sent_async: sse.send_async("nobody").await,
                active: sse.is_active(),
                header_refused_with_it: header.as_ref().err() == sse.refusal(),
                waited,
            });
            sse.close()
        }
    });
    r
}

/// `GET path` with `Accept: text/event-stream`, answered and closed: the whole answer.
async fn ask(server: &TestServer, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n");
    exchange(server.addr, request.as_bytes()).await
}

/// An answer without its `date` header (the one line that changes from run to run).
fn without_date(answer: &str) -> String {
    answer.split("\r\n").filter(|line| !line.starts_with("date: ")).collect::<Vec<_>>().join("\r\n")
}

/// A stream held open (until dropped) on `path`, once its first message arrived.
async fn hold(server: &TestServer, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let seen = read_until(&mut stream, "data: open\n\n").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen:?}");
    stream
}

#[tokio::test]
async fn refusals_never_unwind_and_each_gets_the_answer_meant_for_it() {
    count_panics();
    let (probes, mut probed) = reports();
    let server =
        TestServer::start_with(HttpServer::create_builder().use_router(router(probes)).use_configuration(|c| {
            c.maximum_event_sources = 2;
            c.identifier_policy = IdentifierPolicy::RejectNew;
        }));
    let _held = hold(&server, "/sse/held").await;

    // The identifier in use, under RejectNew: 409, which stops a browser (it would clash again).
    for _ in 0..10 {
        let answer = ask(&server, "/sse/held").await;
        assert!(answer.starts_with("HTTP/1.1 409"), "{answer:?}");
        assert!(answer.contains("already open"), "{answer:?}");
    }
    // An identifier with a control character: 400.
    for _ in 0..10 {
        let answer = ask(&server, "/query?id=a%0Ab").await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    }
    let counted = server.server.clone();
    eventually("the refused streams left no place taken", || counted.open_event_streams() == 1).await;

    // Full: a stream the browser retries, exactly.
    let _second = hold(&server, "/sse/second").await;
    for i in 0..50 {
        let answer = ask(&server, &format!("/sse/full{i}")).await;
        assert_eq!(
            without_date(&answer),
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
                 cache-control: no-store, no-cache\r\nretry-after: 5\r\nconnection: close\r\n\
                 content-length: {}\r\n\r\n{FULL}",
                FULL.len()
            )
        );
    }
    assert_eq!(server.server.open_event_streams(), 2, "a refused stream is not counted");
    assert!(server.server.event_sources().get_by_identifier("full0").is_none(), "nor registered");

    // What a refused handle does: nothing, at once, and its close is the refusal.
    let answer = ask(&server, "/probe/p").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with(FULL), "{answer:?}");
    let probe = probed.next().await;
    assert_eq!(probe.kind, Some(ErrorKind::TooManyEventSources), "{probe:?}");
    assert!(!probe.sent && !probe.sent_async && !probe.active && probe.header_refused_with_it, "{probe:?}");
    assert!(probe.waited < LIMIT, "the waits of a refused stream return at once: {probe:?}");

    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a refusal went through the panic hook");
}

#[tokio::test]
async fn a_second_get_event_source_is_a_refused_handle_not_a_panic() {
    count_panics();
    let (reporter, mut reported) = reports();
    let mut r = Router::new();
    r += Route::get("/twice", move |req: HttpRequest| {
        let reporter = reporter.clone();
        async move {
            let first = req.get_event_source(None);
            let second = req.get_event_source(None);
            reporter.report((second.refusal().map(sisk::Error::kind), second.send("no"), second.close().status));
            first.send("yes");
            first.close()
        }
    });
    let server = TestServer::start(r);
    let answer = ask(&server, "/twice").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("data: yes\n\n"), "{answer:?}");
    let (kind, sent, status) = reported.next().await;
    assert_eq!(kind, Some(ErrorKind::EventSourceAlreadyOpen));
    assert!(!sent);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "a misuse is the program's error");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a refusal went through the panic hook");
}

/// A `503` the handler answers before its stream opened means "later": to an `EventSource` it is a
/// stream that says when (the handler's `Retry-After`), or the configured error retry without one. To a
/// client that did not ask for an event stream it stays a `503`; a `401` stays a `401`.
#[tokio::test]
async fn a_503_before_the_stream_opened_is_a_stream_that_says_when_to_come_back() {
    count_panics();
    let mut r = Router::new();
    r += Route::get("/maintenance", |_req: HttpRequest| async move {
        HttpResponse::from_status(StatusCode::SERVICE_UNAVAILABLE)
            .with_header("Retry-After", "30")
            .with_header("X-App", "kept")
            .with_content("down for maintenance")
    });
    r += Route::get("/opened-then-503", |req: HttpRequest| async move {
        let _sse = req.get_event_source("later");
        Err::<HttpResponse, _>(sisk::Error::with_status(StatusCode::SERVICE_UNAVAILABLE, "the database is down"))
    });
    r += Route::get("/unauthorized", |req: HttpRequest| async move {
        let _sse = req.get_event_source(None);
        StatusCode::UNAUTHORIZED
    });
    let server = TestServer::start_with(
        HttpServer::create_builder()
            .use_router(r)
            .use_configuration(|c| c.event_source_error_retry = Duration::from_secs(12)),
    );

    let body = ": the server is unavailable for now; retry later\nretry: 30000\n\n";
    assert_eq!(
        without_date(&ask(&server, "/maintenance").await),
        format!(
            "HTTP/1.1 200 OK\r\nretry-after: 30\r\nx-app: kept\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
             cache-control: no-store, no-cache\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    );
    let answer = ask(&server, "/opened-then-503").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("retry-after: 12\r\n"), "{answer:?}");
    assert!(
        answer.ends_with("\r\n\r\n: the server is unavailable for now; retry later\nretry: 12000\n\n"),
        "{answer:?}"
    );

    let plain = exchange(server.addr, b"GET /maintenance HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.1 503") && plain.ends_with("down for maintenance"), "{plain:?}");
    let answer = ask(&server, "/unauthorized").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "what must stop the browser stays a 4xx: {answer:?}");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
