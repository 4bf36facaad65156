//! Controllers end to end: `#[route_prefix]` on `impl` blocks, static methods found by `auto_scan` and
//! `set_object_type`, instance methods of a controller handed to `set_object` (owned or shared through an
//! `Arc`), synchronous methods, and the errors for a missing instance and for two instances.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sisk::prelude::*;
use support::{client, TestServer};

/// A controller with state, as one holding a database pool would be.
struct UserController {
    greeting: String,
    lookups: AtomicU64,
}

#[route_prefix("/api/users")]
impl UserController {
    /// Static: `GET /api/users`.
    #[route_get]
    async fn list(_req: HttpRequest) -> &'static str {
        "alice, bob"
    }

    /// Instance: `GET /api/users/<id>`, reading and changing the shared controller.
    #[route_get("/<id>")]
    async fn get(&self, req: HttpRequest) -> String {
        let n = self.lookups.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{} {} (lookup {n})", self.greeting, req.route_parameter("id").unwrap_or_default())
    }

    /// Instance and synchronous: runs on the blocking pool.
    #[route(RouteMethod::Delete, "/<id>")]
    fn remove(&self, req: HttpRequest) -> (StatusCode, String) {
        (
            StatusCode::ACCEPTED,
            format!("{} removed by {}", req.route_parameter("id").unwrap_or_default(), self.greeting),
        )
    }

    /// Not a route: a plain helper stays a plain method.
    fn count(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
}

/// A controller with static routes only; its prefix has a parameter.
struct Health;

#[route_prefix("/status/<zone>/")]
impl Health {
    #[route_get("/")]
    async fn ok(req: HttpRequest) -> String {
        format!("ok in {}", req.route_parameter("zone").unwrap_or_default())
    }

    #[route_post("/ping")]
    fn ping(_req: HttpRequest) -> &'static str {
        "pong"
    }
}

/// A controller without a prefix.
struct Root;

#[route_prefix]
impl Root {
    #[route_get("/about")]
    async fn about(_req: HttpRequest) -> &'static str {
        "about"
    }
}

fn users() -> UserController {
    UserController { greeting: "Olá".into(), lookups: AtomicU64::new(0) }
}

async fn text(server: &TestServer, method: reqwest::Method, path: &str) -> (u16, String) {
    let response = client().request(method, server.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn an_instance_serves_its_routes_and_the_caller_keeps_a_handle() {
    let controller = Arc::new(users());
    let mut r = Router::new();
    r.set_object(Arc::clone(&controller));
    let server = TestServer::start(r);
    assert_eq!(text(&server, reqwest::Method::GET, "/api/users").await, (200, "alice, bob".into()));
    assert_eq!(text(&server, reqwest::Method::GET, "/api/users/7").await, (200, "Olá 7 (lookup 1)".into()));
    assert_eq!(text(&server, reqwest::Method::GET, "/api/users/8/").await, (200, "Olá 8 (lookup 2)".into()));
    assert_eq!(controller.count(), 2, "the routes share the instance the caller holds");
    assert_eq!(text(&server, reqwest::Method::DELETE, "/api/users/7").await, (202, "7 removed by Olá".into()));
    assert_eq!(text(&server, reqwest::Method::PUT, "/api/users/7").await.0, 405);
}

#[tokio::test]
async fn auto_scan_finds_static_methods_and_set_object_adds_them_once() {
    let mut r = Router::new();
    r.auto_scan();
    let scanned: Vec<String> = r.routes().map(|route| format!("{} {}", route.method(), route.path())).collect();
    for expected in ["GET /api/users", "GET /status/<zone>", "POST /status/<zone>/ping", "GET /about"] {
        assert!(scanned.contains(&expected.to_owned()), "{expected} in {scanned:?}");
    }
    assert!(!scanned.iter().any(|route| route == "GET /api/users/<id>"), "instance routes need an instance");

    r.set_object(users());
    let server = TestServer::start(r);
    assert_eq!(text(&server, reqwest::Method::GET, "/status/eu-west").await, (200, "ok in eu-west".into()));
    assert_eq!(text(&server, reqwest::Method::POST, "/status/x/ping").await, (200, "pong".into()));
    assert_eq!(text(&server, reqwest::Method::GET, "/about").await, (200, "about".into()));
    assert_eq!(text(&server, reqwest::Method::GET, "/api/users/1").await, (200, "Olá 1 (lookup 1)".into()));
}

#[tokio::test]
async fn set_object_type_picks_up_one_controller_only() {
    let mut r = Router::new();
    r.set_object_type::<Health>();
    let paths: Vec<&str> = r.routes().map(|route| route.path()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    let server = TestServer::start(r);
    assert_eq!(text(&server, reqwest::Method::GET, "/status/a").await, (200, "ok in a".into()));
    assert_eq!(text(&server, reqwest::Method::GET, "/about").await.0, 404, "Root was not asked for");
}

#[test]
fn routes_are_named_after_controller_and_method() {
    let mut r = Router::new();
    r.set_object(users());
    let mut names: Vec<&str> = r.routes().filter_map(|route| route.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "controllers::UserController::get",
            "controllers::UserController::list",
            "controllers::UserController::remove"
        ]
    );
}

#[test]
fn a_controller_with_instance_routes_added_by_type_fails_the_build_saying_what_to_do() {
    let mut r = Router::new();
    r.set_object_type::<UserController>();
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    assert_eq!(err.kind(), sisk::ErrorKind::ControllerNeedsInstance, "{err}");
    assert!(err.message().contains("get, remove") && err.message().contains("r.set_object(UserController"), "{err}");
}

#[test]
fn two_instances_of_one_controller_collide_naming_the_method() {
    let mut r = Router::new();
    r.set_object(users());
    r.set_object(users());
    let err = HttpServer::create_builder().use_listening_port("http://127.0.0.1:0/").use_router(r).build().unwrap_err();
    assert_eq!(err.kind(), sisk::ErrorKind::RouteCollision, "{err}");
    assert!(err.message().contains("UserController::get"), "{err}");
}
