//! WebSockets on a Redis backplane: what one node sends to an identifier, a prefix or everyone reaches
//! the sockets of every node, through the same shared log as the event sources' events.
//!
//! Without `redis-server` these tests say so and pass, except under CI (`CI=true`).

use std::time::Duration;

use sisk::backplane::RedisBackplane;
use sisk::prelude::*;
use sisk_test_support::web_socket::WebSocketClient;
use sisk_tests::redis_server::RedisServer;
use sisk_tests::{eventually, TestServer, LIMIT};

/// `GET /ws/<id>`: an identified socket that stays open until its client leaves.
fn sockets() -> Router {
    let mut r = Router::new();
    r += Route::get("/ws/<id>", |req: HttpRequest| async move {
        let ws = req.get_web_socket(req.route_parameter("id")).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    r
}

/// The next message that is not a probe.
async fn next_real(client: &mut WebSocketClient) -> Option<String> {
    loop {
        match client.receive().await {
            Some(probe) if probe == "probe" => continue,
            other => return other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_any_node_sends_reaches_the_sockets_of_every_node() {
    let Some(redis) = RedisServer::start() else { return };
    let node = || {
        let backplane = RedisBackplane::new(redis.url()).key_prefix("websockets");
        TestServer::start_with(HttpServer::create_builder().use_router(sockets()).use_backplane(backplane))
    };
    let (a, b) = (node(), node());
    let mut ana = WebSocketClient::connect(&a.url("/ws/room-ana")).await;
    let mut bia = WebSocketClient::connect(&b.url("/ws/room-bia")).await;
    let mut caio = WebSocketClient::connect(&b.url("/ws/lobby-caio")).await;
    let (on_a, on_b) = (a.server.web_sockets().clone(), b.server.web_sockets().clone());
    eventually("each node holds its sockets", || on_a.active_connections() == 1 && on_b.active_connections() == 2)
        .await;

    // Until both nodes read the shared log, a message may pass before one of them: probe until B hears A.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let published = on_a.send_to("room-bia", "probe").expect("the broker takes it");
        assert_eq!(published.reached, None, "on a backplane the count is not known when the call returns");
        if tokio::time::timeout(Duration::from_millis(300), bia.receive()).await.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "node B never got what node A sent");
    }

    on_a.send_to("room-bia", "from node A to bia").unwrap();
    assert_eq!(next_real(&mut bia).await.as_deref(), Some("from node A to bia"));
    on_b.broadcast_prefix("room-", "to the rooms").unwrap();
    on_b.broadcast(b"to everyone".to_vec()).unwrap();
    assert_eq!(next_real(&mut ana).await.as_deref(), Some("to the rooms"), "from node B to a socket on node A");
    assert_eq!(next_real(&mut ana).await.as_deref(), Some("to everyone"));
    assert_eq!(next_real(&mut bia).await.as_deref(), Some("to the rooms"));
    assert_eq!(next_real(&mut bia).await.as_deref(), Some("to everyone"));
    assert_eq!(next_real(&mut caio).await.as_deref(), Some("to everyone"), "the prefix kept the lobby out");
}
