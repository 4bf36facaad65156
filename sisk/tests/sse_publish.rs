//! Publishing through the collection on one node, over real sockets: what each call answers
//! (`Published`), a last event then the streams closed (`publish_and_close`), and a predicate judged
//! with no lock held. The same calls on a backplane are in `tests/tests/backplane.rs`.

mod support;

use std::time::Duration;

use sisk::http::streams::Audience;
use sisk::prelude::*;
use support::{eventually, open_events, Events, TestServer, LIMIT};

/// `GET /sse/<id>`: an identified stream that sends `open`, then stays open.
fn streams() -> Router {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r
}

async fn open(server: &TestServer, id: &str) -> Events {
    let mut events = Events::new(open_events(&server.url(&format!("/sse/{id}"))).await);
    assert_eq!(events.next().await.unwrap().data, "open");
    events
}

#[tokio::test]
async fn every_publishing_call_answers_its_id_and_how_many_took_it() {
    let server = TestServer::start(streams());
    let (_ana, _anabel, _bob) = (open(&server, "ana").await, open(&server, "anabel").await, open(&server, "bob").await);
    let sources = server.server.event_sources();
    eventually("three streams", || sources.active_connections() == 3).await;

    let everyone = sources.broadcast(&Event::new().data("all")).unwrap();
    assert_eq!(everyone.reached, Some(3));
    assert_eq!(everyone.id, sources.head(), "the id it was sent with: the log's head");
    assert_eq!(sources.broadcast_prefix("ana", &Event::new().data("p")).unwrap().reached, Some(2));
    assert_eq!(sources.broadcast_where(|id| id.ends_with('b'), &Event::new().data("w")).unwrap().reached, Some(1));
    assert_eq!(sources.send_to("bob", &Event::new().data("b")).unwrap().reached, Some(1));
    let nobody = sources.send_to("carla", &Event::new().data("c")).unwrap();
    assert_eq!(nobody.reached, Some(0), "nobody there is an answer, not an error");
    assert!(nobody.id.is_some(), "and the event is in the log for when carla comes");
    let waited = sources.publish_async(Audience::All, &Event::new().data("a")).await.unwrap();
    assert_eq!(waited.reached, Some(3), "without a backplane publish_async is publish");
}

#[tokio::test]
async fn with_the_log_off_there_is_no_id_but_still_a_count() {
    let builder = HttpServer::create_builder().use_router(streams()).use_configuration(|c| c.event_log.max_events = 0);
    let server = TestServer::start_with(builder);
    let _ana = open(&server, "ana").await;
    let sources = server.server.event_sources();
    eventually("ana is open", || sources.active_connections() == 1).await;
    let published = sources.broadcast(&Event::new().data("x")).unwrap();
    assert_eq!((published.id, published.reached), (None, Some(1)));
}

/// `publish_and_close`: the audience's streams get the last event, then end (so the browser stops
/// reconnecting once told why); the others stay and go on receiving.
#[tokio::test]
async fn publish_and_close_sends_the_last_event_then_ends_those_streams_only() {
    let server = TestServer::start(streams());
    let mut watchers = Vec::new();
    for n in 0..3 {
        watchers.push(open(&server, &format!("lot-7-{n}")).await);
    }
    let mut other = open(&server, "lot-8-0").await;
    let sources = server.server.event_sources();
    eventually("four streams", || sources.active_connections() == 4).await;
    let last = Event::new().event("closed").data("sold");
    let published = sources.publish_and_close(Audience::Prefix("lot-7-".into()), &last).unwrap();
    assert_eq!(published.reached, Some(3));
    assert_eq!(sources.active_connections(), 1, "closed on return");
    for watcher in watchers {
        assert_eq!(watcher.rest().await, ["sold"], "the last event, then the end");
    }
    sources.broadcast(&Event::new().data("still here")).unwrap();
    assert_eq!(other.next().await.unwrap().data, "still here");
    let async_form = sources.publish_and_close_async(Audience::Identifier("lot-8-0".into()), &last).await;
    assert_eq!(async_form.unwrap().reached, Some(1));
    assert_eq!(other.rest().await, ["sold"]);
}

/// A predicate runs with no lock of the collection held, on one node as on a backplane: here it asks
/// the collection for its head (the log's lock), which deadlocked when the predicate ran under that lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predicate_may_use_the_collection() {
    let server = TestServer::start(streams());
    let _ana = open(&server, "ana").await;
    let sources = server.server.event_sources().clone();
    eventually("ana is open", || sources.active_connections() == 1).await;
    let publishing = tokio::task::spawn_blocking(move || {
        let inner = sources.clone();
        let predicate = move |id: &str| inner.head().is_some() && inner.active_connections() == 1 && id == "ana";
        sources.broadcast_where(predicate, &Event::new().data("judged")).unwrap().reached
    });
    let reached = tokio::time::timeout(LIMIT.min(Duration::from_secs(5)), publishing).await;
    assert_eq!(reached.expect("no deadlock").unwrap(), Some(1));
}
