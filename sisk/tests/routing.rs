//! Routing end to end: `+=`, the `map_*` helpers, Sisk's `<name>` parameters, normalisation, case,
//! collisions, 404 and 405, and what an action may return.

mod support;

use sisk::prelude::*;
use support::{client, TestServer};

async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let res = client().get(server.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn every_way_of_adding_a_route_serves_it() {
    let mut r = Router::new();
    r += Route::new(RouteMethod::Get, "/", |_req| async { "root" });
    r += Route::get("/helper", |_req| async { "helper" });
    r.map_get("/mapped", |_req| async { "mapped" }).map_post("/mapped", |_req| async { "posted" });
    r.set_route(Route::new(RouteMethod::Any, "/any", |req: HttpRequest| async move { req.method().to_string() }))
        .unwrap();
    let server = TestServer::start(r);

    assert_eq!(get(&server, "/").await, (200, "root".into()));
    assert_eq!(get(&server, "/helper").await, (200, "helper".into()));
    assert_eq!(get(&server, "/mapped").await, (200, "mapped".into()));
    let posted = client().post(server.url("/mapped")).send().await.unwrap();
    assert_eq!(posted.text().await.unwrap(), "posted");
    let deleted = client().delete(server.url("/any")).send().await.unwrap();
    assert_eq!(deleted.text().await.unwrap(), "DELETE");
}

#[tokio::test]
async fn every_method_constructor_and_map_helper_answers_its_method() {
    let echo = |req: HttpRequest| async move { req.method().to_string() };
    let mut r = Router::new();
    r += Route::get("/route", echo);
    r += Route::post("/route", echo);
    r += Route::put("/route", echo);
    r += Route::patch("/route", echo);
    r += Route::delete("/route", echo);
    r += Route::options("/route", echo);
    r += Route::head("/head", |_req| async { HttpResponse::new().with_header("X-Head", "yes") });
    r += Route::any("/any", echo);
    r.map_get("/map", echo).map_post("/map", echo).map_put("/map", echo);
    r.map_patch("/map", echo).map_delete("/map", echo).map_options("/map", echo).map_any("/map-any", echo);
    r.map_head("/map-head", |_req| async { HttpResponse::new().with_header("X-Head", "mapped") });
    let server = TestServer::start(r);

    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for path in ["/route", "/map"] {
            let res = client().request(method.clone(), server.url(path)).send().await.unwrap();
            assert_eq!(res.text().await.unwrap(), method.as_str(), "{method} {path}");
        }
        for path in ["/any", "/map-any"] {
            let res = client().request(method.clone(), server.url(path)).send().await.unwrap();
            assert_eq!(res.text().await.unwrap(), method.as_str(), "{method} {path}");
        }
    }
    let head = client().head(server.url("/head")).send().await.unwrap();
    assert_eq!((head.status().as_u16(), head.headers()["x-head"].to_str().unwrap()), (200, "yes"));
    assert_eq!(client().get(server.url("/head")).send().await.unwrap().status().as_u16(), 405);
    let mapped = client().head(server.url("/map-head")).send().await.unwrap();
    assert_eq!(mapped.headers()["x-head"], "mapped");
}

#[tokio::test]
async fn parameters_catch_all_and_normalised_paths() {
    let mut r = Router::new();
    r += Route::get("/users/<id>/posts/<post>", |req: HttpRequest| async move {
        format!("{}:{}", req.route_parameter("id").unwrap(), req.route_parameter("post").unwrap())
    });
    r +=
        Route::get("/files/<*path>", |req: HttpRequest| async move { req.route_parameter("path").unwrap().to_owned() });
    let server = TestServer::start(r);

    assert_eq!(get(&server, "/users/7/posts/9").await.1, "7:9");
    assert_eq!(get(&server, "/users/7/posts/9/").await.1, "7:9", "trailing slash");
    assert_eq!(get(&server, "//users//7/posts/9").await.1, "7:9", "empty segments");
    assert_eq!(get(&server, "/users/J%C3%BAlia/posts/a%2Fb").await.1, "Júlia:a/b", "percent-decoded");
    assert_eq!(get(&server, "/files/css/site.css").await.1, "css/site.css");
    assert_eq!(get(&server, "/USERS/7/posts/9").await.0, 404, "case-sensitive by default");
}

#[tokio::test]
async fn case_insensitive_matching_is_an_option() {
    let mut r = Router::new();
    r += Route::get("/Hello/<Name>", |req: HttpRequest| async move { req.route_parameter("Name").unwrap().to_owned() });
    r.set_match_routes_ignore_case(true);
    let server = TestServer::start(r);
    assert_eq!(get(&server, "/hELLo/MiXeD").await, (200, "MiXeD".into()));
}

#[tokio::test]
async fn not_found_and_method_not_allowed_with_allow() {
    let mut r = Router::new();
    r += Route::get("/thing", |_req| async { "get" });
    r += Route::put("/thing", |_req| async { "put" });
    let server = TestServer::start(r);

    assert_eq!(get(&server, "/missing").await.0, 404);
    let res = client().post(server.url("/thing")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.headers()["allow"], "GET, PUT, HEAD");
}

#[tokio::test]
async fn not_found_and_method_not_allowed_are_replaceable() {
    let mut r = Router::new();
    r += Route::get("/thing", |_req| async { "get" });
    r.set_not_found_handler(|req: HttpRequest| async move { (StatusCode::NOT_FOUND, format!("no {}", req.path())) });
    r.set_method_not_allowed_handler(|_req| async { (StatusCode::METHOD_NOT_ALLOWED, "use GET") });
    let server = TestServer::start(r);

    assert_eq!(get(&server, "/nope").await, (404, "no /nope".into()));
    let res = client().delete(server.url("/thing")).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert_eq!((res.status().as_u16(), res.text().await.unwrap()), (405, "use GET".into()));
}

#[test]
fn a_collision_added_with_plus_equals_fails_the_build_naming_both_routes() {
    let mut r = Router::new();
    r += Route::get("/users/<id>", |_req| async { "" }).with_name("by_id");
    r += Route::get("/users/<name>/", |_req| async { "" }).with_name("by_name");
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    assert_eq!(err.kind(), sisk::ErrorKind::RouteCollision, "{err}");
    assert!(err.message().contains("by_id") && err.message().contains("by_name"), "{err}");
}

#[test]
fn the_build_reports_every_router_mistake_at_once() {
    let mut r = Router::new();
    r += Route::get("/a", |_req| async { "" });
    r += Route::get("/a/", |_req| async { "" });
    r += Route::get("/b/<id", |_req| async { "" });
    r += Route::post("no-slash", |_req| async { "" });
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    let kinds: Vec<_> = std::iter::once(&err).chain(err.related()).map(sisk::Error::kind).collect();
    use sisk::ErrorKind::{InvalidRoutePath, RouteCollision};
    assert_eq!(kinds, [RouteCollision, InvalidRoutePath, InvalidRoutePath], "{err:?}");
    assert_eq!(err.status_code(), None);
}

#[test]
fn an_invalid_path_fails_the_build() {
    let mut r = Router::new();
    r += Route::get("/users/<id", |_req| async { "" });
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    assert!(err.kind() == sisk::ErrorKind::InvalidRoutePath && err.message().contains("<id"), "{err}");
}

#[tokio::test]
async fn actions_return_anything_that_becomes_a_response() {
    let mut r = Router::new();
    r += Route::get("/str", |_req| async { "str" });
    r += Route::get("/string", |_req| async { String::from("string") });
    r += Route::get("/tuple", |_req| async { (StatusCode::ACCEPTED, "tuple") });
    r += Route::get("/status", |_req| async { StatusCode::NO_CONTENT });
    r += Route::get("/bytes", |_req| async { vec![1u8, 2, 3] });
    r += Route::get("/ok", |_req| async { Ok::<_, sisk::Error>("fine") });
    // `?` in a closure compiles with no annotation: the error type is fixed to sisk::Error.
    r += Route::get("/question-mark", |req: HttpRequest| async move {
        let id =
            req.query().get("id").ok_or_else(|| sisk::Error::with_status(StatusCode::BAD_REQUEST, "id is required"))?;
        Ok(format!("id {id}"))
    });
    let server = TestServer::start(r);

    assert_eq!(get(&server, "/str").await, (200, "str".into()));
    assert_eq!(get(&server, "/string").await, (200, "string".into()));
    assert_eq!(get(&server, "/tuple").await, (202, "tuple".into()));
    assert_eq!(get(&server, "/status").await, (204, "".into()));
    let bytes = client().get(server.url("/bytes")).send().await.unwrap();
    assert_eq!(bytes.headers()["content-type"], "application/octet-stream");
    assert_eq!(&bytes.bytes().await.unwrap()[..], [1, 2, 3]);
    assert_eq!(get(&server, "/ok").await, (200, "fine".into()));
    assert_eq!(get(&server, "/question-mark?id=4").await, (200, "id 4".into()));
    assert_eq!(get(&server, "/question-mark").await, (400, "id is required".into()));
}

async fn named_handler(req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    let body = req.body_string().await?;
    Ok(HttpResponse::new().with_content(body.to_uppercase()))
}

#[tokio::test]
async fn async_fns_are_handlers_too() {
    let mut r = Router::new();
    r += Route::post("/upper", named_handler);
    let server = TestServer::start(r);
    let res = client().post(server.url("/upper")).body("shout").send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "SHOUT");
}
