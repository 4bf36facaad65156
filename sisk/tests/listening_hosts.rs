//! Several listening hosts in one server: ports with routers of their own sharing one event-source
//! collection, hosts told apart by `Host` on a shared port, configurations `build` refuses, and one
//! graceful shutdown for every listener.

mod support;

use sisk::http::{CrossOriginResourceSharingHeaders, ListeningHost};
use sisk::prelude::*;
use support::{client, eventually, open_events, Events, TestServer, LIMIT};

/// A port of 127.0.0.1 that was free a moment ago (for the tests that need two hosts on one port
/// number, which port 0 never gives).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a server built from `builder` (its own ports, not a test listener) until it is stopped.
fn start(builder: sisk::http::HttpServerHostContextBuilder) -> (HttpServer, tokio::task::JoinHandle<()>) {
    let app = builder.ignore_listening_port_variable().build().expect("the server builds");
    let server = app.server();
    let task = tokio::spawn(async move { app.start_with_shutdown(std::future::pending()).await.unwrap() });
    (server, task)
}

#[tokio::test]
async fn a_route_of_the_private_port_broadcasts_to_a_stream_opened_on_the_public_port() {
    let mut public = Router::new();
    public += Route::get("/events", |req: HttpRequest| async move {
        let sse = req.get_event_source("viewer");
        sse.keep_alive().await;
        sse.close()
    });
    let mut private = Router::new();
    private += Route::post("/broadcast", |req: HttpRequest| async move {
        let published = req.server().event_sources().broadcast(&Event::new().data("from the private port"))?;
        Ok(format!("reached {:?}", published.reached))
    });
    let private = ListeningHost::new("http://127.0.0.1:0/", private).with_label("private");
    let app = TestServer::start_with(HttpServer::create_builder().use_router(public).add_listening_host(private));
    let addrs = app.server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0], app.addr, "local_addr stays the builder's own");
    let private_url = format!("http://{}/broadcast", addrs[1]);

    let mut events = Events::new(open_events(&app.url("/events")).await);
    eventually("the stream is registered", || app.server.event_sources().active_connections() == 1).await;
    let answer = client().post(&private_url).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "reached Some(1)");
    loop {
        let event = events.next().await.expect("the stream stays open");
        if !event.data.is_empty() {
            assert_eq!(event.data, "from the private port");
            break;
        }
    }
    let crossed = client().get(format!("http://{}/events", addrs[1])).send().await.unwrap();
    assert_eq!(crossed.status(), 404, "each port answers with its own router");
    let crossed = client().post(app.url("/broadcast")).send().await.unwrap();
    assert_eq!(crossed.status(), 404);

    // One shutdown for both listeners.
    app.stop().await;
    for addr in addrs {
        let refused = tokio::time::timeout(LIMIT, tokio::net::TcpStream::connect(addr)).await.unwrap();
        assert!(refused.is_err(), "{addr} is closed");
    }
}

#[tokio::test]
async fn hosts_on_one_port_are_told_apart_by_host_and_an_unknown_name_is_400() {
    let port = free_port();
    let answering = |text: &'static str| {
        let mut r = Router::new();
        r += Route::get("/", move |_req| async move { text });
        r
    };
    let builder = HttpServer::create_builder()
        .use_listening_port(format!("http://127.0.0.1:{port}/"))
        .use_router(answering("by address"))
        .add_listening_host(
            ListeningHost::new(format!("http://localhost:{port}/"), answering("by name"))
                .use_cors(CrossOriginResourceSharingHeaders::allow_all()),
        );
    let (server, task) = start(builder);
    assert_eq!(server.local_addrs().len(), 1, "one listener for both hosts");
    assert_eq!(server.listening_prefixes(), [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/")]);
    let url = format!("http://127.0.0.1:{port}/");
    let get = |host: &'static str| client().get(&url).header("Host", host).header("Origin", "https://a.example").send();

    let by_address = get("127.0.0.1").await.unwrap();
    assert!(by_address.headers().get("access-control-allow-origin").is_none(), "the server's router has no policy");
    assert_eq!(by_address.text().await.unwrap(), "by address");
    let by_name = get("LOCALHOST:1234").await.unwrap();
    assert_eq!(by_name.headers()["access-control-allow-origin"], "*", "the host's own policy");
    assert_eq!(by_name.text().await.unwrap(), "by name");
    let unknown = get("other.example").await.unwrap();
    assert_eq!(unknown.status(), 400, "as in Sisk");
    assert!(unknown.text().await.unwrap().contains("other.example"));

    server.stop();
    tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn build_refuses_hosts_a_request_cannot_tell_apart() {
    let port = free_port();
    let refused = HttpServer::create_builder()
        .use_listening_port(format!("http://localhost:{port}/"))
        .ignore_listening_port_variable()
        .add_listening_host(ListeningHost::new(format!("http://localhost:{port}/"), Router::new()).with_label("admin"))
        .build()
        .unwrap_err();
    assert_eq!(refused.kind(), sisk::ErrorKind::InvalidListeningPort);
    let message = refused.to_string();
    assert!(
        message.contains("listening host `admin`") && message.contains("different ports or host names"),
        "{message}"
    );

    let mut bad = Router::new();
    bad += Route::get("no-slash", |_req| async { "" });
    let refused = HttpServer::create_builder()
        .use_listener(support::loopback_listener())
        .add_listening_host(ListeningHost::new("http://127.0.0.1:0/", bad))
        .build()
        .unwrap_err();
    assert_eq!(refused.kind(), sisk::ErrorKind::InvalidRoutePath, "a host's router is checked too");

    let refused = HttpServer::create_builder()
        .use_listener(support::loopback_listener())
        .add_listening_host(ListeningHost::new("https://127.0.0.1:0/", Router::new()))
        .build()
        .unwrap_err();
    assert_eq!(refused.kind(), sisk::ErrorKind::InvalidListeningPort);
    assert!(refused.to_string().contains("https://"), "an https:// port needs the server's certificate: {refused}");

    let refused = HttpServer::create_builder()
        .use_router(Router::new())
        .add_listening_host(ListeningHost::new("http://127.0.0.1:0/", Router::new()).with_label("admin"))
        .into_service()
        .unwrap_err();
    assert!(refused.to_string().contains("into_service"), "{refused}");
}
