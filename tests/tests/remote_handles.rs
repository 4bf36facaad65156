//! Handles on connections that another node holds, in-process on one Redis: the collection finds them as
//! `HttpRequestEventSource::Remote`, a `RemoteEventSource` that carries only its identifier and its node;
//! sends and closes through it reach the node that holds the connection, while that node sees the same
//! connection as `Local`, with its request.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::prelude::*;
use sisk_tests::events::EventReader;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{eventually, TestServer};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_of_another_node_is_a_remote_handle_that_sends_and_closes_there() {
    let Some(redis) = RedisServer::start() else { return };
    let node = || {
        let backplane = RedisBackplane::new(redis.url()).key_prefix("remote-handles");
        TestServer::start_with(HttpServer::create_builder().use_router(streams()).use_backplane(backplane))
    };
    let (a, b) = (node(), node());
    let mut ana = EventReader::open(&a.url("/sse/ana"), None).await;
    let (on_a, on_b) = (a.server.event_sources().clone(), b.server.event_sources().clone());
    eventually("node B knows of ana", || on_b.get_by_identifier("ana").is_some()).await;

    let here = on_a.get_by_identifier("ana").expect("node A holds ana");
    let local = here.as_local().expect("node A sees its own connection as local");
    assert_eq!((local.path(), here.is_remote()), ("/sse/ana", false));

    let there = on_b.get_by_identifier("ana").expect("node B finds ana");
    let remote = there.as_remote().expect("node B sees a connection of node A as remote");
    assert_eq!((remote.identifier(), there.identifier(), there.is_remote()), ("ana", Some("ana"), true));
    assert!(!remote.node().is_empty());
    assert!(there.as_local().is_none(), "no request, queue or address is made up for it");
    assert!(there.is_active());

    assert!(there.send("from node B"), "the shared log took it");
    assert_eq!(ana.data(1).await, ["from node B"]);
    let found: Vec<HttpRequestEventSource> = on_b.find(|id| id.starts_with("an"));
    assert!(found.iter().any(|e| e.ptr_eq(&there)), "find returns the same remote connection");

    there.close();
    assert!(ana.next_within(Duration::from_secs(10)).await.is_none(), "node A closed the stream");
    eventually("node A let ana go", || on_a.active_connections() == 0).await;
    eventually("node B learned that ana left", || !there.is_active()).await;
}
