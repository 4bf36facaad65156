//! What reaches the client: exact bytes, the same stream through a third-party parser, hostile data that
//! must stay one event, Sisk's own SSE tests re-expressed, and `Last-Event-ID`.

mod support;

use sisk::prelude::*;
use support::{open_events, Events, TestServer};

fn typed_events() -> Vec<Event> {
    vec![
        Event::new().data("plain"),
        Event::new().event("update").id("1").data("{\"n\":1}"),
        Event::new().retry(Duration::from_millis(2500)).data("two\nlines"),
        Event::new().comment("not an event"),
        Event::new().event("named-only"),
        Event::new().id("2"),
        Event::new().data(""),
    ]
}

fn typed_route() -> Route {
    Route::get("/typed", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        for event in typed_events() {
            sse.send_event(&event);
        }
        sse.close()
    })
}

#[tokio::test]
async fn typed_events_are_byte_exact_on_the_wire() {
    let mut r = Router::new();
    r += typed_route();
    let server = TestServer::start(r);
    let body = open_events(&server.url("/typed")).await.text().await.unwrap();
    assert_eq!(
        body,
        concat!(
            "data: plain\n\n",
            "event: update\nid: 1\ndata: {\"n\":1}\n\n",
            "retry: 2500\ndata: two\ndata: lines\n\n",
            ": not an event\n\n",
            "event: named-only\ndata: \n\n",
            "id: 2\n\n",
            "data: \n\n",
        )
    );
}

#[tokio::test]
async fn a_third_party_parser_reads_the_same_stream() {
    let mut r = Router::new();
    r += typed_route();
    let server = TestServer::start(r);
    let mut events = Events::new(open_events(&server.url("/typed")).await);
    let mut seen = Vec::new();
    while let Some(e) = events.next().await {
        seen.push((e.event, e.data, e.id, e.retry));
    }
    let ms = |n| Some(Duration::from_millis(n));
    let expected = vec![
        ("message".to_owned(), "plain".to_owned(), "".to_owned(), None),
        ("update".into(), "{\"n\":1}".into(), "1".into(), None),
        ("message".into(), "two\nlines".into(), "1".into(), ms(2500)),
        ("named-only".into(), "".into(), "1".into(), None),
        ("message".into(), "".into(), "2".into(), None),
    ];
    assert_eq!(seen, expected);
}

/// Hostile data: whatever a handler sends arrives as exactly one event whose data is the input with its
/// line breaks normalised to `\n`.
#[tokio::test]
async fn hostile_data_is_exactly_one_event_each() {
    let long = "x".repeat(256 * 1024);
    let inputs: Vec<String> = vec![
        "a\rb".into(),
        "a\nb".into(),
        "a\r\nb".into(),
        "trailing\r".into(),
        "\n\nevent: x".into(),
        "id: 9".into(),
        "retry: 1".into(),
        ": comment".into(),
        "data: nested".into(),
        "\r\n\r\n\r\n".into(),
        "mixed\r\r\n\n\rend".into(),
        long.clone(),
        format!("{long}\n{long}"),
        "Olá, 世界 — ünïcödé 🚀".into(),
    ];
    let to_send = inputs.clone();
    let mut r = Router::new();
    r += Route::get("/hostile", move |req: HttpRequest| {
        let to_send = to_send.clone();
        async move {
            let sse = req.get_event_source(None);
            for input in &to_send {
                assert!(sse.send(input));
            }
            sse.close()
        }
    });
    let server = TestServer::start(r);
    let mut events = Events::new(open_events(&server.url("/hostile")).await);
    for input in &inputs {
        let event = events.next().await.expect("one event per input");
        let normalised = input.replace("\r\n", "\n").replace('\r', "\n");
        assert_eq!(event.event, "message", "no input may name an event: {input:?}");
        assert_eq!(event.id, "", "no input may set an id: {input:?}");
        assert_eq!(event.retry, None, "no input may set retry: {input:?}");
        assert!(
            event.data == normalised,
            "data for {:?} was {:?}",
            &input[..input.len().min(40)],
            &event.data[..40.min(event.data.len())]
        );
    }
    assert!(events.next().await.is_none(), "nothing else arrives");
}

/// Sisk's `TestSyncSseFeatures`, `TestAsyncSseFeatures`, `TestSseWithCorsHeaders` and
/// `TestSseEmptyNullDataEvents`, re-expressed.
#[tokio::test]
async fn sisk_own_sse_tests() {
    let mut r = Router::new();
    r += Route::get("/tests/sse/sync", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.append_header("X-Test-SSE", "sync")?;
        sse.send("message 1 part 1");
        sse.send_event(&Event::new().event("customSync").data("message 2 part 1"));
        Ok(sse.close())
    });
    r += Route::get("/tests/sse/async", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.append_header("X-Test-SSE", "async")?;
        sse.send_async("async message 1").await;
        tokio::task::yield_now().await;
        sse.send_event_async(&Event::new().event("customAsync").data("async message 2")).await;
        sse.send_async("async message 3").await;
        Ok(sse.close())
    });
    r += Route::get("/tests/sse/cors", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.append_header("X-Test-SSE", "cors")?;
        sse.send("cors message 1");
        Ok(sse.close())
    });
    r += Route::get("/tests/sse/empty", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("");
        sse.send_event(&Event::new().data(""));
        sse.send_event(&Event::new().event("customEmpty").data(""));
        sse.send_event(&Event::new().event("customNull"));
        sse.close()
    });
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_cors(CrossOriginResourceSharingHeaders::allow_all()),
    );

    async fn read(
        server: &TestServer,
        path: &str,
        origin: bool,
    ) -> (reqwest::header::HeaderMap, Vec<(String, String)>) {
        let mut request = support::client().get(server.url(path));
        if origin {
            request = request.header("Origin", "http://example.com");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
        let headers = response.headers().clone();
        let mut events = Events::new(response);
        let mut out = Vec::new();
        while let Some(e) = events.next().await {
            out.push((e.event, e.data));
        }
        (headers, out)
    }
    let pair = |e: &str, d: &str| (e.to_owned(), d.to_owned());

    let (headers, events) = read(&server, "/tests/sse/sync", false).await;
    assert_eq!(headers["x-test-sse"], "sync");
    assert_eq!(events, [pair("message", "message 1 part 1"), pair("customSync", "message 2 part 1")]);

    let (headers, events) = read(&server, "/tests/sse/async", false).await;
    assert_eq!(headers["x-test-sse"], "async");
    let expected = [
        pair("message", "async message 1"),
        pair("customAsync", "async message 2"),
        pair("message", "async message 3"),
    ];
    assert_eq!(events, expected);

    let (headers, events) = read(&server, "/tests/sse/cors", true).await;
    assert_eq!(headers["x-test-sse"], "cors");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(events, [pair("message", "cors message 1")]);

    let (_, events) = read(&server, "/tests/sse/empty", false).await;
    assert_eq!(events, [pair("message", ""), pair("message", ""), pair("customEmpty", ""), pair("customNull", "")]);
}

#[tokio::test]
async fn a_reconnecting_client_hands_its_last_event_id_to_the_handler() {
    let mut r = Router::new();
    r += Route::get("/resume", |req: HttpRequest| async move {
        let from: u32 = req.last_event_id().and_then(|id| id.parse().ok()).map_or(0, |id: u32| id + 1);
        let sse = req.get_event_source(None);
        for n in from..from + 3 {
            sse.send_event(&Event::new().id(n.to_string()).data(format!("event {n}")));
        }
        sse.close()
    });
    let server = TestServer::start(r);

    let mut first = Events::new(open_events(&server.url("/resume")).await);
    let mut last_id = String::new();
    while let Some(event) = first.next().await {
        last_id = event.id;
    }
    assert_eq!(last_id, "2");
    let resumed = support::client().get(server.url("/resume")).header("Last-Event-ID", &last_id).send().await.unwrap();
    assert_eq!(Events::new(resumed).rest().await, ["event 3", "event 4", "event 5"]);
}

#[tokio::test]
async fn the_source_exposes_the_originating_request() {
    let (action, mut seen) = support::reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source("who");
        report.report(format!(
            "{} {} {} {} {:?}",
            sse.method(),
            sse.path(),
            sse.headers()["x-client"].to_str().unwrap(),
            sse.remote_address().ip(),
            sse.identifier()
        ));
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/who", action);
    let server = TestServer::start(r);
    let response = support::client().get(server.url("/who")).header("X-Client", "tester").send().await.unwrap();
    let _ = response.text().await;
    assert_eq!(seen.next().await, "GET /who tester 127.0.0.1 Some(\"who\")");
}
