//! WebSockets end to end through tokio-tungstenite's client: the receive loop, question and answer,
//! timeouts, closing, the collection and broadcasts, identifiers, pings, slow clients, shutdown, and
//! the handshake's refusals. Hostile frames written by hand are in `websocket_frames.rs`.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sisk::http::streams::IdentifierPolicy;
use sisk::prelude::*;
use support::{eventually, exchange, TestServer, LIMIT};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};

type Client = WebSocketStream<TcpStream>;

/// A client connected to `path` of `server`.
async fn connect(server: &TestServer, path: &str) -> Client {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let url = format!("ws://{}{}", server.addr, path);
    let (client, response) = tokio::time::timeout(LIMIT, client_async(url, tcp)).await.unwrap().unwrap();
    assert_eq!(response.status(), 101);
    client
}

/// The next data message or close frame the client reads, within the limit (pings are skipped).
async fn next(client: &mut Client) -> Option<Message> {
    loop {
        match tokio::time::timeout(LIMIT, client.next()).await.expect("the server answers in time") {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

async fn text(client: &mut Client) -> String {
    match next(client).await {
        Some(Message::Text(text)) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// The close code the server sent, reading past anything before it.
async fn close_code(client: &mut Client) -> Option<CloseCode> {
    loop {
        match next(client).await {
            Some(Message::Close(frame)) => return frame.map(|frame| frame.code),
            Some(_) => continue,
            None => return None,
        }
    }
}

fn echo_router() -> Router {
    let mut router = Router::new();
    router.map_get("/connect", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        while let Some(received) = ws.receive_message(Duration::from_secs(30)).await {
            let text = received.get_string();
            ws.send_async(format!("echo: {text}")).await;
        }
        Ok::<_, sisk::Error>(ws.close().await)
    });
    router
}

#[tokio::test]
async fn the_receive_loop_answers_each_message_in_order_and_a_client_close_ends_it() {
    let server = TestServer::start(echo_router());
    let mut client = connect(&server, "/connect").await;
    for n in 0..20 {
        client.send(Message::text(format!("m{n}"))).await.unwrap();
    }
    for n in 0..20 {
        assert_eq!(text(&mut client).await, format!("echo: m{n}"));
    }
    client.send(Message::binary(b"bin".to_vec())).await.unwrap();
    assert_eq!(text(&mut client).await, "echo: bin", "a binary message reads as text with get_string");
    client.close(None).await.unwrap();
    assert_eq!(close_code(&mut client).await, None, "the server answered the close (tungstenite returns it)");
}

#[tokio::test]
async fn question_and_answer_with_receive_without_timeout() {
    let mut router = Router::new();
    router.map_get("/ask", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        let name = loop {
            ws.send_async("What is your name?").await;
            let Some(msg) = ws.receive_message(None).await else {
                return Ok(ws.close().await);
            };
            let name = msg.get_string().into_owned();
            if !name.is_empty() {
                break name;
            }
            ws.send_async("Please, insert your name!").await;
        };
        let age: i32 = loop {
            ws.send_async("And your age?").await;
            let Some(msg) = ws.receive_message(None).await else {
                return Ok(ws.close().await);
            };
            match msg.get_string().parse() {
                Ok(age) => break age,
                Err(_) => ws.send_async("Please, insert an valid number").await,
            };
        };
        ws.send_async(format!("You're {name}, and you are {age} old.")).await;
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::start(router);
    let mut client = connect(&server, "/ask").await;
    assert_eq!(text(&mut client).await, "What is your name?");
    client.send(Message::text("")).await.unwrap();
    assert_eq!(text(&mut client).await, "Please, insert your name!");
    assert_eq!(text(&mut client).await, "What is your name?");
    client.send(Message::text("Ana")).await.unwrap();
    assert_eq!(text(&mut client).await, "And your age?");
    client.send(Message::text("many")).await.unwrap();
    assert_eq!(text(&mut client).await, "Please, insert an valid number");
    assert_eq!(text(&mut client).await, "And your age?");
    client.send(Message::text("30")).await.unwrap();
    assert_eq!(text(&mut client).await, "You're Ana, and you are 30 old.");
    assert_eq!(close_code(&mut client).await, Some(CloseCode::Normal));
}

#[tokio::test]
async fn a_receive_that_times_out_returns_none_and_the_handler_closes_with_1000() {
    let mut router = Router::new();
    router.map_get("/quiet", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        let got = ws.receive_message(Duration::from_millis(200)).await;
        ws.send_async(format!("timed out: {}", got.is_none())).await;
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::start(router);
    let mut client = connect(&server, "/quiet").await;
    assert_eq!(text(&mut client).await, "timed out: true");
    assert_eq!(close_code(&mut client).await, Some(CloseCode::Normal));
}

#[tokio::test]
async fn a_client_that_leaves_ends_the_receive_and_the_socket_leaves_the_collection() {
    let mut router = Router::new();
    router.map_get("/id/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let ws = req.get_web_socket(id.as_str()).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::start(router);
    let client = connect(&server, "/id/leaver").await;
    let sockets = server.server.web_sockets().clone();
    eventually("the socket is registered", || sockets.get_by_identifier("leaver").is_some()).await;
    drop(client); // no close frame: the TCP connection just ends
    eventually("the socket leaves the collection", || sockets.active_connections() == 0).await;
}

#[tokio::test]
async fn the_collection_finds_sockets_and_broadcasts_reach_each_once() {
    let mut router = Router::new();
    router.map_get("/room/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let ws = req.get_web_socket(id.as_str()).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::start(router);
    let mut a = connect(&server, "/room/room-1-ana").await;
    let mut b = connect(&server, "/room/room-1-bia").await;
    let mut c = connect(&server, "/room/room-2-caio").await;
    let sockets = server.server.web_sockets().clone();
    eventually("three sockets", || sockets.active_connections() == 3).await;
    assert_eq!(sockets.find(|id| id.starts_with("room-1-")).len(), 2);
    assert_eq!(sockets.broadcast_where(|id| id.starts_with("room-1-"), "room 1"), 2);
    assert_eq!(sockets.send_to("room-2-caio", "only caio").unwrap().reached, Some(1));
    assert_eq!(sockets.send_to("nobody", "lost").unwrap().reached, Some(0), "nobody there, and known");
    assert_eq!(sockets.broadcast(b"everyone".to_vec()).unwrap().reached, Some(3));
    assert_eq!(sockets.broadcast_prefix("room-2-", "prefix").unwrap().reached, Some(1));
    assert!(sockets.get_by_identifier("room-1-bia").unwrap().send("direct"));
    assert_eq!(text(&mut a).await, "room 1");
    assert_eq!(next(&mut a).await, Some(Message::binary(b"everyone".to_vec())));
    assert_eq!(text(&mut b).await, "room 1");
    assert_eq!(next(&mut b).await, Some(Message::binary(b"everyone".to_vec())));
    assert_eq!(text(&mut b).await, "direct");
    assert_eq!(text(&mut c).await, "only caio");
    assert_eq!(next(&mut c).await, Some(Message::binary(b"everyone".to_vec())));
    assert_eq!(text(&mut c).await, "prefix");
    sockets.drop_all();
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(close_code(client).await, Some(CloseCode::Normal));
    }
    eventually("the collection is empty", || sockets.active_connections() == 0).await;
}

fn holding_router() -> Router {
    let mut router = Router::new();
    router.map_get("/hold/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let ws = req.get_web_socket(id.as_str()).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    router.map_get("/anonymous", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    router
}

#[tokio::test]
async fn the_identifier_policy_applies_to_websockets_as_to_event_sources() {
    let replacing = TestServer::with(holding_router(), |c| c.identifier_policy = IdentifierPolicy::Replace);
    let mut first = connect(&replacing, "/hold/same").await;
    let sockets = replacing.server.web_sockets().clone();
    eventually("the first is registered", || sockets.active_connections() == 1).await;
    let _second = connect(&replacing, "/hold/same").await;
    assert_eq!(close_code(&mut first).await, Some(CloseCode::Normal), "the old one is closed");
    eventually("one left", || sockets.active_connections() == 1).await;

    let rejecting = TestServer::with(holding_router(), |c| c.identifier_policy = IdentifierPolicy::RejectNew);
    let _first = connect(&rejecting, "/hold/same").await;
    let sockets = rejecting.server.web_sockets().clone();
    eventually("the first is registered", || sockets.active_connections() == 1).await;
    let tcp = TcpStream::connect(rejecting.addr).await.unwrap();
    let refused = client_async(format!("ws://{}/hold/same", rejecting.addr), tcp).await.unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 409),
        other => panic!("expected 409, got {other}"),
    }

    let several = TestServer::start(holding_router());
    let _a = connect(&several, "/hold/tabs").await;
    let _b = connect(&several, "/hold/tabs").await;
    let sockets = several.server.web_sockets().clone();
    eventually("both tabs stay", || sockets.active_connections() == 2).await;
    assert_eq!(sockets.send_to("tabs", "both").unwrap().reached, Some(2));
}

#[tokio::test]
async fn pings_go_out_as_ping_frames_at_the_interval() {
    let mut router = Router::new();
    router.map_get("/ping", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        ws.with_ping(|ping| ping.start_with("ping-message", Duration::from_millis(50)));
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::start(router);
    let mut client = connect(&server, "/ping").await;
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(LIMIT, client.next()).await.unwrap() {
            Some(Ok(Message::Ping(payload))) => {
                assert_eq!(&payload[..], b"ping-message");
                pings += 1;
            }
            other => panic!("expected pings, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_alone() {
    let mut router = Router::new();
    router.map_get("/flood/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let ws = req.get_web_socket(id.as_str()).await?;
        while ws.receive_message(None).await.is_some() {}
        Ok::<_, sisk::Error>(ws.close().await)
    });
    let server = TestServer::with(router, |c| {
        c.web_socket_queue_capacity = 16;
        c.web_socket_queue_bytes = 256 * 1024;
    });
    // The stuck client completes its handshake, then never reads again.
    let stuck = connect(&server, "/flood/stuck").await;
    let mut reader = connect(&server, "/flood/reader").await;
    let sockets = server.server.web_sockets().clone();
    eventually("both are registered", || sockets.active_connections() == 2).await;
    let chunk = vec![b'x'; 64 * 1024];
    let mut rounds = 0;
    while sockets.get_by_identifier("stuck").is_some() {
        rounds += 1;
        assert!(rounds < 10_000, "the stuck client was never cut off");
        sockets.broadcast(chunk.clone()).unwrap();
        // The reader keeps up.
        assert_eq!(next(&mut reader).await.map(|m| m.len()), Some(chunk.len()));
    }
    assert!(sockets.get_by_identifier("reader").is_some_and(|ws| ws.is_active()), "the reader is untouched");
    assert_eq!(sockets.send_to("reader", "still here").unwrap().reached, Some(1));
    loop {
        match next(&mut reader).await {
            Some(Message::Text(text)) => break assert_eq!(text, "still here"),
            Some(_) => continue,
            None => panic!("the reader was dropped"),
        }
    }
    drop(stuck);
}

#[tokio::test]
async fn a_shutdown_closes_every_socket_with_1001() {
    let server = TestServer::start(holding_router());
    let mut named = connect(&server, "/hold/named").await;
    let mut anonymous = connect(&server, "/anonymous").await;
    let sockets = server.server.web_sockets().clone();
    eventually("registered", || sockets.active_connections() == 1).await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(close_code(&mut named).await, Some(CloseCode::Away));
    assert_eq!(close_code(&mut anonymous).await, Some(CloseCode::Away), "one without an identifier too");
    tokio::time::timeout(LIMIT, stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn handshake_refusals_are_answers_not_panics() {
    let server = TestServer::start(echo_router());
    let plain = exchange(server.addr, b"GET /connect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
    assert!(plain.to_ascii_lowercase().contains("upgrade: websocket"), "{plain}");
    let no_key = exchange(
        server.addr,
        b"GET /connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(no_key.starts_with("HTTP/1.1 400"), "{no_key}");
    let old = exchange(
        server.addr,
        b"GET /connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(old.starts_with("HTTP/1.1 426") && old.contains("13"), "{old}");
}

#[tokio::test]
async fn an_upgrade_to_a_route_that_does_not_accept_one_gets_its_ordinary_answer() {
    let mut router = Router::new();
    router.map_get("/plain", |_req: HttpRequest| async { "just text" });
    let server = TestServer::start(router);
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let refused = client_async(format!("ws://{}/plain", server.addr), tcp).await.unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 200),
        other => panic!("expected the route's 200, got {other}"),
    }
}

#[tokio::test]
async fn an_open_websocket_keeps_its_place_among_the_open_connections() {
    let server = TestServer::start(holding_router());
    let counted = server.server.clone();
    let mut client = connect(&server, "/hold/counted").await;
    let sockets = server.server.web_sockets().clone();
    eventually("registered", || sockets.active_connections() == 1).await;
    // hyper's connection task ended with the handshake; the socket still counts, as its connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(counted.open_connections(), 1);
    client.close(None).await.unwrap();
    eventually("the place is given back once the socket closes", || counted.open_connections() == 0).await;
}

#[tokio::test]
async fn closing_a_socket_whose_client_never_reads_ends_within_bounds() {
    let (closed, mut closes) = tokio::sync::mpsc::unbounded_channel();
    let mut router = Router::new();
    router.map_get("/stuck", move |req: HttpRequest| {
        let closed = closed.clone();
        async move {
            let ws = req.get_web_socket(None).await?;
            // More than the kernel's buffers hold: the rest waits in the queue, which is large enough.
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..256 {
                assert!(ws.send(chunk.clone()), "the queue holds it all");
            }
            let response = ws.close().await;
            let _ = closed.send(ws.is_active());
            Ok::<_, sisk::Error>(response)
        }
    });
    let server = TestServer::with(router, |c| {
        c.web_socket_queue_capacity = 1024;
        c.web_socket_queue_bytes = 64 * 1024 * 1024;
    });
    let _stuck = connect(&server, "/stuck").await; // never read again
    let active = tokio::time::timeout(LIMIT, closes.recv()).await.expect("close() returns in time");
    assert_eq!(active, Some(false));
}
