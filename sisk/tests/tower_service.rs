//! sisk as a `tower::Service` (`into_service`): nested in an axum app, wrapped in a tower-http layer,
//! and served by a plain hyper server — requests, bodies, and event streams that flow as they are written.

mod support;

use std::net::SocketAddr;

use http_body_util::BodyExt;
use sisk::http::HttpService;
use sisk::prelude::*;
use support::*;
use tower::ServiceExt;

/// `GET /hello`, `POST /echo` (the body back), `GET /remote` (the client's address), `GET /sse` (an
/// event stream that sends `one`, then `two` once the test lets it, and ends), and `GET /forever` (one
/// that sends `one` and stays open until the server stops).
fn service() -> (HttpService, tokio::sync::mpsc::Sender<()>) {
    let (go_on, on) = tokio::sync::mpsc::channel::<()>(1);
    let on = std::sync::Arc::new(tokio::sync::Mutex::new(on));
    let mut r = Router::new();
    r += Route::get("/hello", |_req| async { "hello from sisk" });
    r += Route::post("/echo", |req: HttpRequest| async move { req.body_string().await });
    r += Route::get("/remote", |req: HttpRequest| async move { req.remote_address().to_string() });
    r += Route::get("/sse", move |req: HttpRequest| {
        let on = on.clone();
        async move {
            let sse = req.get_event_source(None);
            sse.send("one");
            on.lock().await.recv().await;
            sse.send("two");
            sse.close()
        }
    });
    r += Route::get("/forever", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        sse.keep_alive().await;
        sse.close()
    });
    (HttpServer::create_builder().use_router(r).into_service().expect("the router is valid"), go_on)
}

/// Serves `app` with axum on a loopback listener; returns its address.
fn serve_axum(app: axum::Router) -> SocketAddr {
    let listener = loopback_listener();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn nested_in_an_axum_app_beside_axum_routes() {
    let (sisk, go_on) = service();
    let app = axum::Router::new()
        .route("/axum", axum::routing::get(|| async { "hello from axum" }))
        .nest_service("/sisk", sisk);
    let addr = serve_axum(app);
    let get = |path: &str| client().get(format!("http://{addr}{path}")).send();
    assert_eq!(get("/axum").await.unwrap().text().await.unwrap(), "hello from axum");
    assert_eq!(get("/sisk/hello").await.unwrap().text().await.unwrap(), "hello from sisk");
    let echo = client().post(format!("http://{addr}/sisk/echo")).body("a body through axum").send().await.unwrap();
    assert_eq!(echo.text().await.unwrap(), "a body through axum");
    assert_eq!(get("/sisk/nowhere").await.unwrap().status(), 404, "sisk's own 404");

    // The event stream's first event arrives while its handler still waits: the body streams.
    let mut events = Events::new(open_events(&format!("http://{addr}/sisk/sse")).await);
    assert_eq!(events.next().await.map(|event| event.data).as_deref(), Some("one"));
    go_on.send(()).await.unwrap();
    assert_eq!(events.rest().await, ["two"]);
}

#[tokio::test]
async fn wrapped_in_a_tower_http_layer() {
    use tower_http::set_header::SetResponseHeaderLayer;
    let (sisk, _go_on) = service();
    let layer = SetResponseHeaderLayer::overriding(
        http::header::SERVER,
        http::HeaderValue::from_static("sisk behind tower-http"),
    );
    let request = http::Request::get("/hello").body(String::new()).unwrap();
    let response = tower::ServiceBuilder::new().layer(layer).service(sisk).oneshot(request).await.unwrap();
    assert_eq!(response.headers()["server"], "sisk behind tower-http");
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello from sisk");
}

#[tokio::test]
async fn served_by_a_plain_hyper_server_that_gives_the_client_address() {
    let (sisk, _go_on) = service();
    let listener = loopback_listener();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, remote)) = listener.accept().await else { return };
            let sisk = sisk.clone();
            let hyper_service = hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(remote);
                sisk.clone().oneshot(request)
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, hyper_service));
        }
    });
    let remote = client().get(format!("http://{addr}/remote")).send().await.unwrap().text().await.unwrap();
    assert!(remote.starts_with("127.0.0.1:") && !remote.ends_with(":0"), "{remote}");
    let echo = client().post(format!("http://{addr}/echo")).body("through hyper").send().await.unwrap();
    assert_eq!(echo.text().await.unwrap(), "through hyper");
}

#[tokio::test]
async fn stopping_the_server_behind_the_service_ends_its_event_streams() {
    let (sisk, _go_on) = service();
    let server = sisk.server().clone();
    let addr = serve_axum(axum::Router::new().fallback_service(sisk));
    let mut events = Events::new(open_events(&format!("http://{addr}/forever")).await);
    assert_eq!(events.next().await.map(|event| event.data).as_deref(), Some("one"));
    server.stop();
    assert_eq!(events.rest().await, Vec::<String>::new(), "the stream ends cleanly");
}
