//! Attribute routes end to end: free async and synchronous functions, parameters, every method
//! attribute, routes in two modules found by one `auto_scan`, and the seed page's ping snippet verbatim.

mod support;

#[path = "attribute_routes/more_routes.rs"]
mod more_routes;

use sisk::prelude::*;
use support::{client, TestServer};

#[route_get("/users/<id>")]
async fn user(req: HttpRequest) -> String {
    format!("user {}", req.route_parameter("id").unwrap_or_default())
}

#[route_get]
async fn root(_req: HttpRequest) -> &'static str {
    "root"
}

#[route_put("/sync")]
fn synchronous(req: HttpRequest) -> String {
    format!("sync {}", req.method())
}

#[route_any("/anything")]
async fn anything(req: HttpRequest) -> String {
    req.method().to_string()
}

#[route_get("/sse")]
async fn events(request: HttpRequest) -> HttpResponse {
    let sse = request.get_event_source(None);
    sse.with_ping(|ping| {
        ping.data_message = "ping-message".into();
        ping.interval = Duration::from_secs(5);
        ping.start();
    });
    sse.keep_alive().await;
    sse.close()
}

fn scanned() -> TestServer {
    let mut r = Router::new();
    r.auto_scan();
    TestServer::start(r)
}

#[tokio::test]
async fn auto_scan_serves_free_functions_from_every_module() {
    let server = scanned();
    let get = |path: &str| client().get(server.url(path)).send();
    assert_eq!(get("/users/7").await.unwrap().text().await.unwrap(), "user 7");
    assert_eq!(get("/").await.unwrap().text().await.unwrap(), "root", "no path means /");
    let sync = client().put(server.url("/sync")).send().await.unwrap();
    assert_eq!(sync.text().await.unwrap(), "sync PUT", "a synchronous fn runs on the blocking pool");
    let any = client().patch(server.url("/anything")).send().await.unwrap();
    assert_eq!(any.text().await.unwrap(), "PATCH");
    let echo = client().post(server.url("/more/echo")).body("loud").send().await.unwrap();
    assert_eq!(echo.text().await.unwrap(), "LOUD", "a route from another module");
    let removed = client().delete(server.url("/more/9")).send().await.unwrap();
    assert_eq!(removed.status().as_u16(), 202);
    assert_eq!(removed.text().await.unwrap(), "removed 9");
}

#[tokio::test]
async fn routes_are_named_after_their_functions() {
    let mut r = Router::new();
    r.auto_scan();
    let names: Vec<&str> = r.routes().filter_map(|route| route.name()).collect();
    assert!(names.contains(&"attribute_routes::user"), "{names:?}");
    assert!(names.contains(&"attribute_routes::more_routes::echo"), "{names:?}");
}

#[tokio::test]
async fn the_seed_ping_snippet_works_as_an_attribute_route() {
    let server = scanned();
    let mut response = client().get(server.url("/sse")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let chunk = tokio::time::timeout(support::LIMIT, response.chunk()).await.unwrap().unwrap().unwrap();
    assert_eq!(&chunk[..], b": ping-message\n\n", "the first ping after 5 s");
}
