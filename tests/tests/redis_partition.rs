//! A node cut off from Redis by a partition — nothing answers and nothing closes, the way a dropped link
//! or a firewall fails, played by a TCP proxy between the node and a real `redis-server` — while its
//! clients stay connected: the node keeps their streams and pings, says on publish why it cannot, and once
//! the partition heals it reads on from its last id, so its clients get every event the other nodes
//! published meanwhile, in order, once. And the reverse: clients cut off from a node that keeps its Redis
//! resume on another node with `Last-Event-ID`, missing nothing. And a link that fails one way just
//! after a node's appends reached Redis: the node tries them again, and Redis appends none twice; a
//! publish that waits and never hears back is told that Redis may have its event.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::http::streams::Audience;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::proxy::Proxy;
use sisk_tests::redis_cluster::{cli, until};
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{published, TestServer, LIMIT};

/// `GET /sse/<id>`: an identified stream that says `open`, pings every 200 ms, and stays open.
fn pinged_streams() -> Router {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.with_ping(|ping| ping.start_with("ping", Duration::from_millis(200)));
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r
}

fn node(redis_url: String) -> TestServer {
    let backplane = RedisBackplane::new(redis_url).key_prefix("partition");
    TestServer::start_with(HttpServer::create_builder().use_router(pinged_streams()).use_backplane(backplane))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_keeps_its_streams_says_so_and_catches_up_when_it_heals() {
    let Some(redis) = RedisServer::start() else { return };
    let link = Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
    let a = node(redis.url());
    let b = node(format!("redis://{}/", link.address()));
    let mut on_b = EventReader::open(&b.url("/sse/ivo"), None).await;
    assert_eq!(on_b.data(1).await, ["open"]);
    published(&a.server, "before").await;
    assert_eq!(on_b.data(1).await, ["before"]);

    link.partition();
    // B notices (its blocking read gets no answer in time) and says so on publish, with why.
    // What B takes before it notices waits in its queue and reaches Redis when the link heals.
    let mut taken_before_noticing = 0;
    let deadline = tokio::time::Instant::now() + LIMIT * 2;
    let refused = loop {
        match b.server.event_sources().publish(Audience::All, &Event::new().data("from b")) {
            Err(err) => break err,
            Ok(_) => {
                taken_before_noticing += 1;
                assert!(tokio::time::Instant::now() < deadline, "B never said it cannot reach Redis");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(refused.kind(), sisk::ErrorKind::BrokerUnavailable);
    assert!(refused.to_string().contains("did not answer in time"), "{refused}");
    // A, which keeps its Redis, goes on publishing.
    for n in 0..5 {
        published(&a.server, &format!("during {n}")).await;
    }
    // B's client is still connected, and still pinged.
    let pings = on_b.comments;
    assert_eq!(on_b.next_within(Duration::from_millis(700)).await, None, "nothing reaches B meanwhile");
    assert!(on_b.comments > pings, "pings go on during the partition");

    link.heal();
    // In the stream's order: what A published meanwhile, then what B had taken, then B's next.
    published(&b.server, "after").await;
    let mut expected: Vec<String> = (0..5).map(|n| format!("during {n}")).collect();
    expected.extend(std::iter::repeat_n("from b".to_owned(), taken_before_noticing));
    expected.push("after".to_owned());
    assert_eq!(on_b.data(expected.len()).await, expected, "every event, in order, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_cut_off_from_their_node_resume_on_another_missing_nothing() {
    let Some(redis) = RedisServer::start() else { return };
    let (a, b) = (node(redis.url()), node(redis.url()));
    let balancer = Proxy::start(a.addr).await;
    let mut reader = EventReader::open(&balancer.url("/sse/ana"), None).await;
    assert_eq!(reader.data(1).await, ["open"]);
    published(&a.server, "one").await;
    assert_eq!(reader.data(1).await, ["one"]);
    let last = reader.last_event_id.clone();
    assert!(last.is_some(), "events carry ids");

    // The path from the client to A fails; A keeps its Redis, and events go on.
    balancer.partition();
    for n in 0..3 {
        published(&b.server, &format!("missed {n}")).await;
    }
    balancer.cut();
    balancer.heal();
    balancer.switch_to(b.addr);
    let mut resumed = EventReader::open(&balancer.url("/sse/ana"), last.as_deref()).await;
    let mut missed = Vec::new();
    while missed.len() < 3 {
        let data = resumed.next_data().await.data.unwrap_or_default();
        if data != "open" {
            missed.push(data);
        }
    }
    assert_eq!(missed, ["missed 0", "missed 1", "missed 2"], "resumed on B from the last id seen on A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_whose_answers_were_lost_are_tried_again_and_land_once() {
    let Some(redis) = RedisServer::start() else { return };
    let link = Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
    let a = node(redis.url());
    let b = node(format!("redis://{}/", link.address()));
    let mut on_a = EventReader::open(&a.url("/sse/rui"), None).await;
    assert_eq!(on_a.data(1).await, ["open"]);

    // B's append reaches Redis, which carries it out; the answer is held, and B's next waits behind it.
    link.hold_answers();
    let sources = b.server.event_sources().clone();
    let waited = tokio::spawn(async move { sources.publish_async(Audience::All, &Event::new().data("waited")).await });
    until("the append is in the stream", LIMIT, || data_in_stream(&redis) == ["waited"]).await;
    b.server.event_sources().publish(Audience::All, &Event::new().data("kept")).expect("B takes it");
    // The connection breaks before B heard back: B sends both on a new connection.
    link.cut();
    link.heal();
    let waited = tokio::time::timeout(LIMIT * 2, waited).await.expect("in time").unwrap();
    let id = waited.expect("the waiting publish is answered with its event's id").id.expect("an id");

    published(&b.server, "after").await;
    assert_eq!(on_a.data(3).await, ["waited", "kept", "after"], "each event once, in order");
    assert_eq!(on_a.next_within(Duration::from_millis(500)).await, None, "and nothing twice");
    assert_eq!(data_in_stream(&redis), ["waited", "kept", "after"], "the stream holds each event once");
    let position = id.to_string().rsplit('.').next().unwrap().to_owned();
    let entry = cli(redis.port, &["XRANGE", "{partition}:log", &position, &position]);
    assert!(entry.lines().any(|line| line == "waited"), "the id answered is the waited event's: {entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_publish_whose_answer_never_comes_is_told_redis_may_have_it() {
    let Some(redis) = RedisServer::start() else { return };
    let link = Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
    let b = node(format!("redis://{}/", link.address()));
    published(&b.server, "before").await;

    link.hold_answers();
    let sources = b.server.event_sources().clone();
    let unanswered =
        tokio::spawn(async move { sources.publish_async(Audience::All, &Event::new().data("unanswered")).await });
    until("the append is in the stream", LIMIT, || data_in_stream(&redis) == ["before", "unanswered"]).await;
    // The connection breaks, and the retry's answer is held too.
    link.cut();
    let refused = tokio::time::timeout(LIMIT * 3, unanswered).await.expect("in time").unwrap().unwrap_err();
    assert_eq!(refused.kind(), sisk::ErrorKind::BrokerUnavailable);
    assert!(refused.to_string().contains("it may reach its audience"), "{refused}");
    link.heal();
    published(&b.server, "after").await;
    assert_eq!(data_in_stream(&redis), ["before", "unanswered", "after"], "and it was appended once");
}

/// The data of the events in the stream of these tests, in order (redis-cli prints an entry's id, then
/// each field and value, a line each).
fn data_in_stream(redis: &RedisServer) -> Vec<String> {
    let entries = cli(redis.port, &["XRANGE", "{partition}:log", "-", "+"]);
    let mut lines = entries.lines();
    let mut data = Vec::new();
    while let Some(line) = lines.next() {
        if line == "data" {
            data.extend(lines.next().map(str::to_owned));
        }
    }
    data
}
