//! Resumption from the built-in event log, over real sockets: a client that reconnects with
//! `Last-Event-ID` gets what it missed that was meant for it, in order, then the live events — no gap,
//! no duplicate, also when events are published while it attaches — or, when that cannot be done, the
//! stale event and a handler that knows it.

mod support;

use sisk::http::streams::{Audience, ResumeState, StaleReason};
use sisk::prelude::*;
use support::{client, eventually, TestServer, LIMIT};

/// One frame of an event stream: its `event:`, `id:` and `data:` fields.
#[derive(Debug, Default, Clone, PartialEq)]
struct Frame {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
}

/// Reads an event stream frame by frame.
struct Reader {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Reader {
    async fn open(url: &str, last_event_id: Option<&str>) -> Reader {
        let mut request = client().get(url).header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Reader { response, buffer: Vec::new() }
    }

    async fn next(&mut self) -> Frame {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame::default();
                for line in String::from_utf8(raw).unwrap().lines() {
                    if let Some((field, value)) = line.split_once(": ") {
                        let value = Some(value.to_owned());
                        match field {
                            "event" => frame.event = value,
                            "id" => frame.id = value,
                            "data" => frame.data = value,
                            _ => {}
                        }
                    }
                }
                return frame;
            }
            let chunk = tokio::time::timeout(LIMIT, self.response.chunk()).await.expect("a frame in time");
            self.buffer.extend_from_slice(&chunk.unwrap().expect("the stream is still open"));
        }
    }

    /// The next frame that carries data (skipping frames that only move the cursor).
    async fn next_data(&mut self) -> Frame {
        loop {
            let frame = self.next().await;
            if frame.data.is_some() {
                return frame;
            }
        }
    }
}

/// `GET /feed/<id>`: an identified stream that first tells its resume state, then stays open.
fn feed() -> Router {
    let mut r = Router::new();
    r += Route::get("/feed/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.send_event(&Event::new().event("state").data(format!("{:?}", sse.resume_state())));
        sse.keep_alive().await;
        sse.close()
    });
    r
}

fn serve(configure: impl FnOnce(&mut HttpServerConfiguration)) -> TestServer {
    TestServer::start_with(HttpServer::create_builder().use_router(feed()).use_configuration(configure))
}

#[tokio::test]
async fn a_client_that_reconnects_gets_what_it_missed_in_order_then_live_events() {
    let server = serve(|_| {});
    let sources = server.server.event_sources().clone();
    let mut first = Reader::open(&server.url("/feed/ana"), None).await;
    let priming = first.next().await;
    assert_eq!((priming.data.as_deref(), priming.id.is_some()), (None, true), "a cursor before anything else");
    assert_eq!(first.next().await.data.as_deref(), Some("Fresh"));
    sources.broadcast(&Event::new().data("one")).unwrap();
    let seen = first.next_data().await;
    assert_eq!(seen.data.as_deref(), Some("one"));
    drop(first);
    eventually("ana left", || sources.active_connections() == 0).await;

    sources.broadcast(&Event::new().data("two")).unwrap();
    let away = sources.send_to("ana", &Event::new().data("for ana")).unwrap();
    assert_eq!(away.reached, Some(0), "ana is away: queued in the log only");
    sources.send_to("bob", &Event::new().data("for bob")).unwrap();
    // A predicate is judged when the event is published, against the identifiers open then: ana is not.
    let judged_now =
        sources.broadcast_where(|id| id.starts_with("an"), &Event::new().data("not kept for ana")).unwrap();
    assert_eq!(judged_now.reached, Some(0));
    sources.broadcast_prefix("an", &Event::new().data("three")).unwrap();

    let mut again = Reader::open(&server.url("/feed/ana"), seen.id.as_deref()).await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let frame = again.next_data().await;
        replayed.push(frame.data.unwrap());
    }
    assert_eq!(replayed, ["two", "for ana", "three"], "missed events meant for ana, in order");
    let cursor = again.next().await;
    assert_eq!((cursor.data, cursor.id), (None, sources.head().map(|id| id.to_string())), "then the head");
    assert_eq!(again.next().await.data.as_deref(), Some("Recovered { events: 3 }"));
    sources.broadcast(&Event::new().data("live")).unwrap();
    assert_eq!(again.next_data().await.data.as_deref(), Some("live"));
}

#[tokio::test]
async fn the_query_parameter_gives_a_cursor_and_the_header_wins_over_it() {
    let server = serve(|_| {});
    let sources = server.server.event_sources().clone();
    let first = sources.publish(Audience::All, &Event::new().data("a")).unwrap().id.unwrap().to_string();
    sources.broadcast(&Event::new().data("b")).unwrap();
    let mut by_query = Reader::open(&server.url(&format!("/feed/q?last_event_id={first}")), None).await;
    assert_eq!(by_query.next_data().await.data.as_deref(), Some("b"));
    let url = server.url("/feed/h?last_event_id=malformed");
    let mut header_wins = Reader::open(&url, Some(&first)).await;
    assert_eq!(header_wins.next_data().await.data.as_deref(), Some("b"));
}

#[tokio::test]
async fn what_cannot_be_resumed_gets_the_stale_event_and_the_handler_knows_why() {
    let server = serve(|config| {
        config.event_log.max_events = 3;
        config.event_log.replay_limit = 2;
        config.event_log.stale_event_name = "resync".into();
    });
    let sources = server.server.event_sources().clone();
    let ids: Vec<String> = (0..5)
        .map(|n| sources.publish(Audience::All, &Event::new().data(n.to_string())).unwrap().id.unwrap().to_string())
        .collect();
    let head = sources.head().unwrap().to_string();
    let other_epoch = format!("zzzz.{}", head.split_once('.').unwrap().1);
    let cases = [
        (ids[0].as_str(), StaleReason::Trimmed),
        (ids[1].as_str(), StaleReason::TooManyEvents),
        (other_epoch.as_str(), StaleReason::OtherEpoch),
        ("17", StaleReason::Unknown),
    ];
    for (cursor, reason) in cases {
        let mut reader = Reader::open(&server.url("/feed/ana"), Some(cursor)).await;
        let stale = reader.next().await;
        let expected = Frame { event: Some("resync".into()), id: Some(head.clone()), data: Some(reason.to_string()) };
        assert_eq!(stale, expected, "{cursor}");
        let state = format!("{:?}", ResumeState::Stale { reason });
        assert_eq!(reader.next().await.data, Some(state), "{cursor}");
    }
    let mut recovered = Reader::open(&server.url("/feed/ana"), Some(&ids[2])).await;
    assert_eq!(recovered.next_data().await.data.as_deref(), Some("3"));
    assert_eq!(recovered.next_data().await.data.as_deref(), Some("4"));
}

#[tokio::test]
async fn anonymous_streams_and_a_log_turned_off_are_not_resumed() {
    let mut r = feed();
    r += Route::get("/anonymous", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send(format!("{:?} {:?}", sse.resume_state(), req.last_event_id()));
        sse.close()
    });
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r));
    let mut anonymous = Reader::open(&server.url("/anonymous"), Some("41")).await;
    assert_eq!(anonymous.next().await.data.as_deref(), Some("Fresh Some(\"41\")"), "no priming frame either");

    let off = serve(|config| config.event_log.max_events = 0);
    let sources = off.server.event_sources().clone();
    assert_eq!(sources.head(), None);
    let mut reader = Reader::open(&off.url("/feed/ana"), Some("whatever")).await;
    assert_eq!(reader.next().await, Frame { event: Some("state".into()), id: None, data: Some("Fresh".into()) });
    sources.broadcast(&Event::new().data("plain")).unwrap();
    assert_eq!(reader.next().await, Frame { data: Some("plain".into()), ..Frame::default() });
}

/// The race between publishing and attaching, 1,000 times: one task publishes without pause while a
/// client keeps reconnecting with the last id it saw. Every event must arrive exactly once, in order.
///
/// A publish delivers shard by shard after it releases the log's lock, so 64 other streams (read, and
/// spread over the registry's shards) make each delivery take a while, and the racer's identifier is
/// in the last shard (checked by a unit test of the registry): a connection that attached while a
/// delivery was on its way there, and was not skipped for what its replay already had, gets it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_while_events_are_published_loses_and_repeats_nothing() {
    const RECONNECTS: usize = 1_000;
    let server = serve(|config| {
        config.event_log.max_events = 1_000_000;
        config.event_log.replay_limit = 1_000_000;
        // The client reads only a few events per connection: the slow-client cut-off is not the subject.
        config.event_source_queue_capacity = 1_000_000;
        config.event_source_queue_bytes = 256 * 1024 * 1024;
    });
    let sources = server.server.event_sources().clone();
    let mut bystanders = tokio::task::JoinSet::new();
    for n in 0..64 {
        let mut reader = Reader::open(&server.url(&format!("/feed/bystander-{n}")), None).await;
        bystanders.spawn(async move { while let Ok(Some(_)) = reader.response.chunk().await {} });
    }
    eventually("the bystanders are registered", || sources.active_connections() == 64).await;
    let publishing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let publisher = tokio::spawn({
        let sources = sources.clone();
        let publishing = publishing.clone();
        async move {
            let mut next = 0u64;
            while publishing.load(std::sync::atomic::Ordering::Relaxed) && next < 1_000_000 {
                sources.broadcast(&Event::new().data(next.to_string())).unwrap();
                next += 1;
                // About ten events a millisecond: many of them land while a connection attaches.
                if next % 10 == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
            next
        }
    });

    let mut received: Vec<u64> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..RECONNECTS {
        let mut reader = Reader::open(&server.url("/feed/racer-2"), cursor.as_deref()).await;
        // Read across the boundary between the replay and the live events — the priming frame (an id
        // without data) ends the replay — then drop the connection mid-stream.
        let mut live = 0;
        let mut replay_over = false;
        while live < 2 {
            let frame = reader.next().await;
            if frame.event.is_some() {
                continue; // the handler's own `state` event
            }
            match frame.data {
                Some(data) => {
                    received.push(data.parse().unwrap());
                    live += usize::from(replay_over);
                }
                None => replay_over = true,
            }
            if frame.id.is_some() {
                cursor = frame.id;
            }
        }
    }
    publishing.store(false, std::sync::atomic::Ordering::Relaxed);
    let published = tokio::time::timeout(LIMIT, publisher).await.unwrap().unwrap();
    let first = received[0];
    for (offset, value) in received.iter().enumerate() {
        assert_eq!(*value, first + offset as u64, "a gap or a duplicate at position {offset}");
    }
    assert!(*received.last().unwrap() < published);
    bystanders.abort_all();
}
