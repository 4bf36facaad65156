//! The Redis backplane in-process, where a test needs settings or calls the `cluster-node` program does not
//! offer: the outbox that keeps events while Redis is away, `broadcast_where` across two nodes, and a slow
//! client cut off alone on a shared log.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{eventually, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET /sse/<id>`: an identified stream that stays open.
fn streams() -> Router {
    let mut r = Router::new();
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let sse = req.get_event_source(req.route_parameter("id"));
        sse.keep_alive().await;
        sse.close()
    });
    r
}

/// Publishes until the backplane takes it (it may not have reached Redis yet).
async fn broadcast(server: &HttpServer, data: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while server.event_sources().publish(sisk::http::streams::Audience::All, &Event::new().data(data)).is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the backplane never took an event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_keeps_events_while_redis_is_away_and_sends_them_in_order() {
    let Some(mut redis) = RedisServer::start_persistent() else { return };
    let backplane = RedisBackplane::new(redis.url()).key_prefix("outbox").outbox(100);
    let server = TestServer::start(HttpServer::create_builder().use_router(streams()).use_backplane(backplane));
    let mut reader = EventReader::open(&server.url("/sse/ivo"), None).await;
    eventually("ivo is connected", || server.server.event_sources().active_connections() == 1).await;
    broadcast(&server.server, "before").await;
    assert_eq!(reader.data(1).await, ["before"]);

    redis.kill();
    let sources = server.server.event_sources();
    for n in 0..5 {
        let taken = sources.publish(sisk::http::streams::Audience::All, &Event::new().data(format!("away {n}")));
        assert!(taken.is_ok(), "the outbox takes what Redis cannot: {taken:?}");
    }
    redis.restart();
    let expected: Vec<String> = (0..5).map(|n| format!("away {n}")).collect();
    assert_eq!(reader.data(5).await, expected, "in order, once each, when Redis is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_outbox_publishing_fails_at_once_while_redis_is_away() {
    let Some(mut redis) = RedisServer::start() else { return };
    let backplane = RedisBackplane::new(redis.url()).key_prefix("no-outbox");
    let server = TestServer::start(HttpServer::create_builder().use_router(streams()).use_backplane(backplane));
    broadcast(&server.server, "reachable").await;
    redis.kill();
    let sources = server.server.event_sources();
    let deadline = tokio::time::Instant::now() + LIMIT;
    let refused = loop {
        let published = sources.publish_async(sisk::http::streams::Audience::All, &Event::new().data("x")).await;
        if let Err(err) = published {
            break err;
        }
        assert!(tokio::time::Instant::now() < deadline, "publishing never failed with Redis down");
    };
    assert_eq!(refused.kind(), sisk::ErrorKind::BrokerUnavailable, "{refused}");
    let started = tokio::time::Instant::now();
    let again = sources.publish(sisk::http::streams::Audience::All, &Event::new().data("y"));
    assert_eq!(again.unwrap_err().kind(), sisk::ErrorKind::BrokerUnavailable);
    assert!(started.elapsed() < Duration::from_secs(1), "at once, not after a timeout");
}

/// Two nodes in this process on one Redis: `broadcast_where` on one reaches the matching connections of
/// the other, judged against the identifiers it knows from the presence entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_where_reaches_matching_connections_on_another_node() {
    let Some(redis) = RedisServer::start() else { return };
    let node = || {
        let backplane = RedisBackplane::new(redis.url()).key_prefix("where");
        TestServer::start(HttpServer::create_builder().use_router(streams()).use_backplane(backplane))
    };
    let (a, b) = (node(), node());
    let mut vip = EventReader::open(&b.url("/sse/lena-vip"), None).await;
    let mut plain = EventReader::open(&b.url("/sse/lena"), None).await;
    let sources = a.server.event_sources().clone();
    eventually("node A knows both of B's connections", || sources.cluster_identifiers().len() == 2).await;
    sources.broadcast_where(|id| id.ends_with("-vip"), &Event::new().data("vip only")).unwrap();
    sources.broadcast(&Event::new().data("everyone")).unwrap();
    assert_eq!(vip.data(2).await, ["vip only", "everyone"]);
    assert_eq!(plain.data(1).await, ["everyone"], "the predicate kept `lena` out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_alone_and_resumes_when_it_comes_back() {
    const EVENTS: usize = 200;
    let Some(redis) = RedisServer::start() else { return };
    let backplane = RedisBackplane::new(redis.url()).key_prefix("slow");
    let server = TestServer::start(
        HttpServer::create_builder().use_router(streams()).use_backplane(backplane).use_configuration(|c| {
            c.event_source_queue_capacity = 8;
            c.event_source_queue_bytes = 64 * 1024;
            c.event_source_send_buffer = 16 * 1024;
        }),
    );
    let mut steady = EventReader::open(&server.url("/sse/steady"), None).await;
    let steady = tokio::spawn(async move {
        let data = steady.data(EVENTS).await;
        data.iter().map(|d| d.split(' ').next().unwrap().to_owned()).collect::<Vec<String>>()
    });
    // A client with a small receive window that stops reading.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let mut slow = TcpStream::from_std(socket.into()).unwrap();
    slow.write_all(b"GET /sse/slow HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n").await.unwrap();
    eventually("both are connected", || server.server.event_sources().active_connections() == 2).await;

    let payload = "z".repeat(4 * 1024);
    for n in 0..EVENTS {
        broadcast(&server.server, &format!("{n} {payload}")).await;
        // Paced, so a client that reads keeps up with its small queue; the slow one does not.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let sources = server.server.event_sources().clone();
    eventually("the slow client is cut off", || sources.get_by_identifier("slow").is_none()).await;
    let steady_got = steady.await.unwrap();
    let all: Vec<String> = (0..EVENTS).map(|n| n.to_string()).collect();
    assert_eq!(steady_got, all, "the steady client missed nothing");

    // What reached the slow client's socket before the cut: its last complete event's id is its cursor.
    let mut received = Vec::new();
    let _ = tokio::time::timeout(LIMIT, slow.read_to_end(&mut received)).await;
    let received = String::from_utf8_lossy(&received);
    let complete = &received[..received.rfind("\n\n").map_or(0, |end| end + 2)];
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = None;
    for frame in complete.split("\n\n") {
        for line in frame.lines() {
            if let Some(id) = line.strip_prefix("id: ") {
                cursor = Some(id.to_owned());
            }
            if let Some(data) = line.strip_prefix("data: ") {
                seen.push(data.split(' ').next().unwrap().to_owned());
            }
        }
    }
    assert!(seen.len() < EVENTS, "the slow client was cut before the end ({} events)", seen.len());
    let mut back = EventReader::open(&server.url("/sse/slow"), cursor.as_deref()).await;
    let rest: Vec<String> =
        back.data(EVENTS - seen.len()).await.iter().map(|d| d.split(' ').next().unwrap().to_owned()).collect();
    seen.extend(rest);
    assert_eq!(seen, all, "before the cut and after the resume: every event once, in order");
}
