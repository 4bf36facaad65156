//! The life of an event-source connection: closing, reviving, waiting for failure, replacement by
//! identifier, the collection's bookkeeping, disconnect detection and shutdown (DESIGN §3).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sisk::http::streams::IdentifierPolicy;
use sisk::prelude::*;
use support::{eventually, open_events, reporting, reports, Events, Reporter, TestServer, LIMIT};

/// A route that opens an identified stream (`/sse/<id>`), reports when it is open, then waits for failure
/// and reports how long the wait lasted.
fn waiting_route(idle: Duration, waits: Reporter<(String, Duration)>) -> Route {
    Route::get("/sse/<id>", move |req: HttpRequest| {
        let waits = waits.clone();
        async move {
            let id = req.route_parameter("id").unwrap().to_owned();
            let sse = req.get_event_source(id.as_str());
            sse.send("open");
            let started = Instant::now();
            sse.wait_for_fail(idle).await;
            waits.report((id, started.elapsed()));
            sse.close()
        }
    })
}

#[tokio::test]
async fn close_flushes_ends_the_stream_and_leaves_a_dead_handle() {
    let (action, mut handles) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source("closing");
        for i in 0..100 {
            sse.send(i);
        }
        let response = sse.close();
        report.report(sse.clone());
        response
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start(r);
    let events = Events::new(open_events(&server.url("/sse")).await);
    let data = events.rest().await;
    assert_eq!(data, (0..100).map(|i| i.to_string()).collect::<Vec<_>>(), "everything queued is flushed");

    let handle = handles.next().await;
    assert!(!handle.is_active());
    assert!(!handle.send("revived?"), "a closed connection cannot be revived");
    assert_eq!(server.server.event_sources().active_connections(), 0);
    // The log's priming frame (`id: <head>`) first; then "0" to "9" are `data: N\n\n` (9 bytes), "10" to
    // "99" one byte more each.
    let priming = format!("id: {}\n\n", server.server.event_sources().head().unwrap()).len() as u64;
    assert_eq!(handle.sent_content_length(), priming + 10 * 9 + 90 * 10, "every byte of the stream, counted once");
}

#[tokio::test]
async fn the_handler_returning_closes_its_stream() {
    let mut r = Router::new();
    r += Route::get("/sse", |req: HttpRequest| async move {
        let sse = req.get_event_source("forgotten");
        sse.send("one");
        "the handler forgot to close"
    });
    let server = TestServer::start(r);
    let data = Events::new(open_events(&server.url("/sse")).await).rest().await;
    assert_eq!(data, ["one"]);
    eventually("the collection is empty", || server.server.event_sources().active_connections() == 0).await;
}

#[tokio::test]
async fn a_second_get_event_source_is_an_error() {
    let (action, mut errors) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        report.report(req.try_get_event_source(None).unwrap_err());
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/twice", action);
    let server = TestServer::start(r);
    let _ = Events::new(open_events(&server.url("/twice")).await).rest().await;
    let err = errors.next().await;
    assert_eq!(err.kind(), sisk::ErrorKind::EventSourceAlreadyOpen, "{err}");
}

#[tokio::test]
async fn wait_for_fail_returns_after_the_idle_time_and_sends_restart_the_clock() {
    let (reporter, mut waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_millis(400), reporter);
    let server = TestServer::start(r);

    let mut quiet = Events::new(open_events(&server.url("/sse/quiet")).await);
    assert_eq!(quiet.next().await.unwrap().data, "open");
    let mut busy = Events::new(open_events(&server.url("/sse/busy")).await);
    assert_eq!(busy.next().await.unwrap().data, "open");
    let busy_source = server.server.event_sources().get_by_identifier("busy").unwrap();
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(busy_source.send(i));
    }
    let (first, quiet_wait) = waits.next().await;
    assert_eq!(first, "quiet", "the quiet connection times out first");
    assert!(quiet_wait >= Duration::from_millis(400), "{quiet_wait:?}");
    let (second, busy_wait) = waits.next().await;
    assert_eq!(second, "busy");
    assert!(busy_wait >= Duration::from_millis(900 + 400), "each send restarted the clock: {busy_wait:?}");
    assert!(quiet.rest().await.is_empty(), "the timed-out stream ended");
}

#[tokio::test]
async fn pings_do_not_restart_the_idle_clock() {
    let (action, mut waits) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        sse.with_ping(|ping| ping.start_with("tick", Duration::from_millis(50)));
        let started = Instant::now();
        sse.wait_for_fail(Duration::from_millis(400)).await;
        report.report(started.elapsed());
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start(r);
    let response = open_events(&server.url("/sse")).await;
    let waited = waits.next().await;
    assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(5), "{waited:?}");
    let body = response.text().await.unwrap();
    assert!(body.matches(": tick\n\n").count() >= 3, "pings were sent meanwhile: {body:?}");
}

#[tokio::test]
async fn a_client_that_leaves_is_noticed_without_any_write() {
    let (reporter, mut waits) = reports();
    let mut r = Router::new();
    // Duration::MAX also guards against the deadline arithmetic overflowing.
    r += waiting_route(Duration::MAX, reporter);
    let server = TestServer::start(r);
    let mut events = Events::new(open_events(&server.url("/sse/leaver")).await);
    assert_eq!(events.next().await.unwrap().data, "open");
    let left = Instant::now();
    drop(events);
    let (id, _) = waits.next().await;
    let noticed = left.elapsed();
    assert_eq!(id, "leaver");
    assert!(noticed < Duration::from_secs(5), "noticed after {noticed:?}");
    assert_eq!(server.server.event_sources().active_connections(), 0);
}

/// Serves `waiting_route` with `policy` for identifiers already in use.
fn serve_with_policy(policy: IdentifierPolicy) -> TestServer {
    let (reporter, _waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_secs(60), reporter);
    TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.identifier_policy = policy),
    )
}

#[tokio::test]
async fn with_the_replace_policy_a_new_connection_replaces_and_closes_the_old_one() {
    let server = serve_with_policy(IdentifierPolicy::Replace);
    let log = Arc::new(Mutex::new(Vec::new()));
    let (registered, unregistered) = (log.clone(), log.clone());
    let sources = server.server.event_sources();
    sources.on_event_source_registered(move |es| {
        registered.lock().unwrap().push(format!("+{}", es.identifier().unwrap()))
    });
    sources.on_event_source_unregistered(move |es| {
        unregistered.lock().unwrap().push(format!("-{}", es.identifier().unwrap()))
    });

    let mut old = Events::new(open_events(&server.url("/sse/same")).await);
    assert_eq!(old.next().await.unwrap().data, "open");
    let old_source = sources.get_by_identifier("same").unwrap();
    let mut new = Events::new(open_events(&server.url("/sse/same")).await);
    assert_eq!(new.next().await.unwrap().data, "open");

    assert!(old.next().await.is_none(), "the old stream ends");
    assert!(!old_source.is_active());
    let current = sources.get_by_identifier("same").unwrap();
    assert!(current.is_active() && !current.ptr_eq(&old_source));
    assert_eq!(sources.active_connections(), 1);
    assert!(current.send("to the new one"));
    assert_eq!(new.next().await.unwrap().data, "to the new one");
    drop(new);
    eventually("the new connection leaves", || sources.active_connections() == 0).await;
    assert_eq!(*log.lock().unwrap(), ["+same", "-same", "+same", "-same"]);
}

/// Regression: two tabs with one identifier used to close each other forever (each replaced the other
/// and its EventSource reconnected). By default both stay, and everything sent to the identifier reaches
/// both.
#[tokio::test]
async fn by_default_two_connections_with_one_identifier_both_stay_and_both_receive() {
    let server = serve_with_policy(IdentifierPolicy::default());
    let sources = server.server.event_sources();
    let mut first = Events::new(open_events(&server.url("/sse/tab")).await);
    assert_eq!(first.next().await.unwrap().data, "open");
    let older = sources.get_by_identifier("tab").unwrap();
    let mut second = Events::new(open_events(&server.url("/sse/tab")).await);
    assert_eq!(second.next().await.unwrap().data, "open");
    assert_eq!(sources.active_connections(), 2);
    assert!(older.is_active(), "the first tab was not closed");
    assert!(!sources.get_by_identifier("tab").unwrap().ptr_eq(&older), "get_by_identifier gives the newest");
    assert_eq!(sources.find(|id| id == "tab").len(), 2);

    assert_eq!(sources.send_to("tab", &Event::new().data("to both tabs")).unwrap().reached, Some(2));
    assert_eq!(first.next().await.unwrap().data, "to both tabs");
    assert_eq!(second.next().await.unwrap().data, "to both tabs");
    drop(second);
    eventually("the second tab leaves", || sources.active_connections() == 1).await;
    assert!(sources.get_by_identifier("tab").unwrap().ptr_eq(&older), "the first is still there");
}

#[tokio::test]
async fn with_the_reject_policy_a_second_connection_is_refused_with_409() {
    let server = serve_with_policy(IdentifierPolicy::RejectNew);
    let mut first = Events::new(open_events(&server.url("/sse/only")).await);
    assert_eq!(first.next().await.unwrap().data, "open");
    let refused = support::client().get(server.url("/sse/only")).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("already open"));
    let sources = server.server.event_sources();
    assert_eq!(sources.active_connections(), 1);
    assert_eq!(sources.send_to("only", &Event::new().data("still yours")).unwrap().reached, Some(1));
    assert_eq!(first.next().await.unwrap().data, "still yours");
}

/// Regression: `curl -I /sse/hana` (a GET route answers HEAD) opened a stream named `hana` beside — or,
/// with the replace policy, in place of — the real one.
#[tokio::test]
async fn a_head_request_gets_the_stream_s_head_and_never_registers() {
    for policy in [IdentifierPolicy::AllowSeveral, IdentifierPolicy::Replace] {
        let server = serve_with_policy(policy);
        let sources = server.server.event_sources();
        let mut real = Events::new(open_events(&server.url("/sse/hana")).await);
        assert_eq!(real.next().await.unwrap().data, "open");
        let registered = Arc::new(Mutex::new(0));
        let counter = registered.clone();
        sources.on_event_source_registered(move |_| *counter.lock().unwrap() += 1);
        let before = sources.get_by_identifier("hana").unwrap();

        let head =
            support::exchange(server.addr, b"HEAD /sse/hana HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
        assert!(head.contains("content-type: text/event-stream"), "{head:?}");
        assert!(head.ends_with("\r\n\r\n"), "no body: {head:?}");

        assert_eq!(*registered.lock().unwrap(), 0, "{policy:?}: the probe was never registered");
        assert_eq!(sources.active_connections(), 1, "{policy:?}");
        assert!(sources.get_by_identifier("hana").unwrap().ptr_eq(&before), "{policy:?}: the real one stays");
        assert_eq!(sources.send_to("hana", &Event::new().data("still here")).unwrap().reached, Some(1));
        assert_eq!(real.next().await.unwrap().data, "still here");
    }
}

/// Presence from the builder: a hook set there broadcasts who joined and who left. When it runs, the new
/// connection is already in the collection (it gets its own "joined" event) and publishing from inside
/// the hook does not deadlock.
#[tokio::test]
async fn builder_hooks_see_the_connection_and_may_broadcast() {
    let (reporter, _waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_secs(60), reporter);
    let builder = HttpServer::create_builder()
        .use_router(r)
        .on_event_source_registered(|es| {
            let sources = es.server().event_sources();
            let present = sources
                .get_by_identifier(es.identifier().unwrap())
                .is_some_and(|found| found.as_local().is_some_and(|found| found.ptr_eq(es)));
            sources
                .broadcast(&Event::new().event("joined").data(format!("{} {present}", es.identifier().unwrap())))
                .unwrap();
        })
        .on_event_source_unregistered(|es| {
            let sources = es.server().event_sources();
            sources.broadcast(&Event::new().event("left").data(es.identifier().unwrap())).unwrap();
        });
    let server = TestServer::start_with(builder);
    let mut ana = Events::new(open_events(&server.url("/sse/ana")).await);
    let joined = ana.next().await.unwrap();
    assert_eq!((joined.event.as_str(), joined.data.as_str()), ("joined", "ana true"), "ana is in when her hook runs");
    assert_eq!(ana.next().await.unwrap().data, "open");
    let bob = Events::new(open_events(&server.url("/sse/bob")).await);
    assert_eq!(ana.next().await.unwrap().data, "bob true");
    drop(bob);
    let left = ana.next().await.unwrap();
    assert_eq!((left.event.as_str(), left.data.as_str()), ("left", "bob"));
}

/// Regression: an error returned with `?`, or a panic, once something went out, gave the client a `200`
/// stream that simply ended — and its browser reconnected into the same failure every second.
#[tokio::test]
async fn a_failure_after_the_first_message_breaks_the_stream_after_a_retry_delay() {
    let mut r = Router::new();
    r += Route::get("/fails", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        Err::<HttpResponse, _>(sisk::Error::with_status(StatusCode::SERVICE_UNAVAILABLE, "the database is down"))
    });
    r += Route::get("/panics", |req: HttpRequest| async move {
        let sse = req.get_event_source("panicky");
        sse.send("one");
        tokio::task::yield_now().await;
        panic!("a bug after the first message");
        #[allow(unreachable_code)]
        sse.close()
    });
    r += Route::get("/ends", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        sse.close()
    });
    let server = TestServer::start_with(
        HttpServer::create_builder()
            .use_router(r)
            .use_configuration(|c| c.event_source_error_retry = Duration::from_secs(30)),
    );
    for path in ["/fails", "/panics"] {
        let response = open_events(&server.url(path)).await;
        let mut read = String::new();
        let mut body = response;
        let ended = loop {
            match tokio::time::timeout(LIMIT, body.chunk()).await.expect("in time") {
                Ok(Some(chunk)) => read.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(None) => break "a clean end",
                Err(_) => break "an error",
            }
        };
        assert!(read.contains("data: one\n\n") && read.ends_with("retry: 30000\n\n"), "{path}: {read:?}");
        assert_eq!(ended, "an error", "{path}: the stream must break, not end");
    }
    // A handler that closes its stream still ends it cleanly.
    let mut clean = open_events(&server.url("/ends")).await;
    let mut read = String::new();
    while let Some(chunk) = tokio::time::timeout(LIMIT, clean.chunk()).await.unwrap().unwrap() {
        read.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(read, "data: one\n\n");
    assert_eq!(server.server.event_sources().active_connections(), 0);
}

#[tokio::test]
async fn shutdown_ends_every_stream_cleanly_and_empties_the_collection() {
    let (reporter, mut waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_secs(60), reporter);
    r += Route::get("/anonymous", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    // Neither identified nor waiting: a handler that just keeps sending until a send fails.
    let (sending, mut send_failures) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        sse.send("open");
        while sse.send("tick") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        report.report(());
        sse.close()
    });
    r += Route::get("/sending", sending);
    // A shutdown timeout longer than `TestServer::stop` waits: the stop can only finish in time if every
    // stream ends by itself.
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|config| config.shutdown_timeout = LIMIT * 6),
    );
    let mut streams = Vec::new();
    for path in ["/sse/a", "/sse/b", "/anonymous", "/sending"] {
        let mut events = Events::new(open_events(&server.url(path)).await);
        assert_eq!(events.next().await.unwrap().data, "open");
        streams.push(events);
    }
    let sources = server.server.event_sources().clone();
    assert_eq!(sources.active_connections(), 2);
    server.stop().await;
    for events in streams {
        let rest = events.rest().await;
        assert!(rest.iter().all(|data| data == "tick"), "each stream ends cleanly (a parse error would panic)");
    }
    assert_eq!(sources.active_connections(), 0);
    let mut returned = Vec::new();
    while let Some((id, _)) = waits.try_next() {
        returned.push(id);
    }
    returned.sort();
    assert_eq!(returned, ["a", "b"], "the handlers' waits returned");
    assert!(send_failures.try_next().is_some(), "the sending handler saw its send fail and finished");
}

#[tokio::test]
async fn streams_work_over_http2_and_a_reset_stream_is_noticed() {
    let (reporter, mut waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_secs(60), reporter);
    let server = TestServer::start(r);
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();

    let response = h2.get(server.url("/sse/h2")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let mut events = Events::new(response);
    assert_eq!(events.next().await.unwrap().data, "open");
    server.server.event_sources().get_by_identifier("h2").unwrap().send("over h2");
    assert_eq!(events.next().await.unwrap().data, "over h2");

    drop(events); // resets the stream; the connection itself stays open in the client's pool
    let (id, _) = waits.next().await;
    assert_eq!(id, "h2");
    assert_eq!(server.server.event_sources().active_connections(), 0);
}

#[tokio::test]
async fn drop_all_closes_every_identified_connection_and_handlers_see_the_count() {
    let (reporter, mut waits) = reports();
    let mut r = Router::new();
    r += waiting_route(Duration::from_secs(60), reporter);
    r += Route::get("/count", |req: HttpRequest| async move {
        req.server().event_sources().active_connections().to_string()
    });
    let server = TestServer::start(r);
    let mut streams = Vec::new();
    for id in ["x", "y", "z"] {
        let mut events = Events::new(open_events(&server.url(&format!("/sse/{id}"))).await);
        assert_eq!(events.next().await.unwrap().data, "open");
        streams.push(events);
    }
    let count = || async { support::client().get(server.url("/count")).send().await.unwrap().text().await.unwrap() };
    assert_eq!(count().await, "3", "a handler reaches the collection through req.server()");

    server.server.event_sources().drop_all();
    for events in streams {
        assert!(events.rest().await.is_empty(), "each stream ends cleanly");
    }
    let mut returned = Vec::new();
    for _ in 0..3 {
        returned.push(waits.next().await.0);
    }
    returned.sort();
    assert_eq!(returned, ["x", "y", "z"], "every wait returned");
    assert_eq!(count().await, "0");
}

#[tokio::test]
async fn ping_defaults_follow_sisk() {
    let (action, mut settings) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        sse.with_ping(|ping| report.report((ping.data_message.clone(), ping.interval)));
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start(r);
    let _ = open_events(&server.url("/sse")).await;
    assert_eq!(settings.next().await, ("%ping%".to_owned(), Duration::from_secs(5)));
}

/// Opens `path` on a socket with a tiny receive buffer and does not read: the client stalls.
async fn stalled_client(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_ping_that_cannot_be_written_closes_the_connection_and_frees_it() {
    let (action, mut still_active) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source("stalled");
        // Large pings, often: they pile up in the socket, then in the queue, until one cannot go in.
        sse.with_ping(|ping| ping.start_with("p".repeat(64 * 1024), Duration::from_millis(2)));
        sse.keep_alive().await;
        report.report(sse.is_active());
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.event_source_queue_capacity = 4),
    );
    let _client = stalled_client(server.addr, "/sse").await;
    assert!(!still_active.next().await, "the failed ping ends keep_alive and the connection is closed");
    assert_eq!(server.server.event_sources().active_connections(), 0, "and freed from the collection");
}

#[tokio::test]
async fn send_async_waits_for_room_instead_of_disconnecting() {
    use tokio::io::AsyncReadExt;
    const MESSAGES: usize = 200;
    let (action, mut delivered) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        let chunk = "a".repeat(16 * 1024);
        let mut count = 0;
        for _ in 0..MESSAGES {
            if sse.send_async(&chunk).await {
                count += 1;
            }
        }
        report.report(count);
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.event_source_queue_capacity = 2),
    );
    let mut client = stalled_client(server.addr, "/sse").await;
    // 3.2 MiB cannot fit in a 2-message queue and a 4 KiB socket: the handler must be waiting now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(delivered.try_next().is_none(), "the sender is held back while the client does not read");

    let mut body = Vec::new();
    tokio::time::timeout(LIMIT, client.read_to_end(&mut body)).await.expect("the stream ends").unwrap();
    let events = body.windows(6).filter(|w| w == b"data: ").count();
    assert_eq!(events, MESSAGES, "every message arrived once the client read");
    assert_eq!(delivered.next().await, MESSAGES, "every send_async returned true");
}

#[tokio::test]
async fn an_error_before_the_first_message_reaches_the_client_instead_of_an_empty_stream() {
    let (action, mut sources) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source("refused");
        report.report(sse.clone());
        sse.append_header("X-Fine", "yes")?;
        Err::<HttpResponse, _>(sisk::Error::with_status(StatusCode::UNAUTHORIZED, "sign in first"))
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start(r);
    let response = support::client().get(server.url("/sse")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_ne!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(response.text().await.unwrap(), "sign in first");
    let source = sources.next().await;
    assert!(!source.is_active() && !source.send("too late"), "the stream that never started is closed");
    assert_eq!(server.server.event_sources().active_connections(), 0);
}

#[tokio::test]
async fn large_messages_reach_the_byte_bound_of_the_queue_long_before_its_message_bound() {
    let (action, mut outcome) = reporting(|req: HttpRequest, report| async move {
        let sse = req.get_event_source(None);
        let large = "x".repeat(64 * 1024);
        let mut queued = 0usize;
        // At most the message bound: only the byte bound can stop this loop early.
        while queued < 1024 && sse.send(&large) {
            queued += 1;
            tokio::task::yield_now().await;
        }
        report.report((queued, sse.is_active()));
        sse.close()
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.event_source_queue_bytes = 256 * 1024),
    );
    let _client = stalled_client(server.addr, "/sse").await;
    let (queued, active) = outcome.next().await;
    assert!(!active, "the client that does not read was disconnected");
    // What can hold the messages: the queue, the kernel's send buffer (the server asks for
    // event_source_send_buffer; Linux doubles it), the client's receive buffer (4 KiB asked, doubled),
    // and the one message that crossed the bound. 6 of 64 KiB fit, measured; 256 would without the bound.
    let defaults = HttpServerConfiguration::default();
    let room = 256 * 1024 + 2 * defaults.event_source_send_buffer + 2 * 4096 + 64 * 1024;
    assert!(queued * 64 * 1024 <= room, "{queued} messages of 64 KiB went in, more than {room} bytes of room");
}

/// Reads `response` until `needle` has arrived (bounded by `LIMIT`); returns everything read.
async fn read_until_text(response: &mut reqwest::Response, needle: &str) -> String {
    let mut read = String::new();
    while !read.contains(needle) {
        let chunk = tokio::time::timeout(LIMIT, response.chunk()).await.expect("in time").unwrap();
        read.push_str(&String::from_utf8_lossy(&chunk.unwrap_or_else(|| panic!("the stream ended before {needle:?}"))));
    }
    read
}

/// As Sisk's timer (due time 0): the first ping goes out when the policy starts, not one interval later.
/// Settings made in one `with_ping` without `start` are kept for the next one, as on Sisk's policy.
#[tokio::test]
async fn the_first_ping_goes_out_at_once_with_the_settings_kept_from_before() {
    let mut r = Router::new();
    r += Route::get("/sse", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.with_ping(|ping| {
            ping.data_message = "kept".into();
            ping.interval = Duration::from_secs(60); // far past LIMIT: only an immediate ping is seen
        });
        sse.with_ping(|ping| ping.start());
        sse.keep_alive().await;
        sse.close()
    });
    let server = TestServer::start(r);
    let mut response = open_events(&server.url("/sse")).await;
    assert_eq!(read_until_text(&mut response, ": kept\n\n").await, ": kept\n\n");
}

/// A second `start` replaces the first (Sisk runs both timers side by side, and its client gets both).
#[tokio::test]
async fn a_second_start_replaces_the_first_ping_schedule() {
    let mut r = Router::new();
    r += Route::get("/sse", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.with_ping(|ping| ping.start_with("fast", Duration::from_millis(10)));
        sse.with_ping(|ping| ping.start_with("slow", Duration::from_secs(60)));
        tokio::time::sleep(Duration::from_millis(300)).await; // thirty fast pings, were they still on
        sse.send("end");
        sse.close()
    });
    let server = TestServer::start(r);
    let body = open_events(&server.url("/sse")).await.text().await.unwrap();
    assert!(body.matches(": fast\n\n").count() <= 1, "at most the one sent before the second start: {body:?}");
    assert_eq!(body.matches(": slow\n\n").count(), 1, "{body:?}");
    assert!(body.ends_with("data: end\n\n"), "{body:?}");
}

/// As Sisk's `Cancel`: the queue is dropped, the connection stays, and what is sent next arrives. What
/// the transport already took arrives whole.
#[tokio::test]
async fn cancel_drops_the_queue_and_keeps_the_connection() {
    use tokio::io::AsyncReadExt;
    const MESSAGES: usize = 50;
    let padding = "p".repeat(32 * 1024);
    let (action, mut outcome) = reporting(move |req: HttpRequest, report| {
        let padding = padding.clone();
        async move {
            let sse = req.get_event_source(None);
            for i in 0..MESSAGES {
                assert!(sse.send(format!("{i}:{padding}")), "1.6 MB fits the 4 MiB queue");
            }
            let queued = sse.queued_messages();
            sse.cancel();
            report.report((queued, sse.queued_messages(), sse.send("after cancel")));
            sse.close()
        }
    });
    let mut r = Router::new();
    r += Route::get("/sse", action);
    let server = TestServer::start(r);
    let mut client = stalled_client(server.addr, "/sse").await;
    let (queued, left, sent_after) = outcome.next().await;
    assert!(queued > 0 && left == 0 && sent_after, "queued {queued}, left {left}, sent after {sent_after}");

    let mut body = Vec::new();
    tokio::time::timeout(LIMIT, client.read_to_end(&mut body)).await.expect("the stream ends").unwrap();
    let body = String::from_utf8_lossy(&body);
    let events: Vec<&str> = body.split("data: ").skip(1).collect();
    let (last, numbered) = events.split_last().expect("events arrived");
    assert!(last.starts_with("after cancel\n\n"), "the connection stayed open: {last:?}");
    assert!(numbered.len() < MESSAGES, "the queued messages were dropped: {} arrived", numbered.len());
    for event in numbered {
        assert_eq!(event.trim_end().split(':').nth(1).map(str::len), Some(32 * 1024), "each message whole");
    }
}
