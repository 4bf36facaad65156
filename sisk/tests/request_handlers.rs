//! Request handlers (before and after, global and per route) and the CORS policy, end to end.

mod support;

use std::time::Duration;

use sisk::prelude::*;
use support::{client, TestServer};

fn authenticate() -> RequestHandler {
    RequestHandler::before(|req: HttpRequest| async move {
        match req.header("authorization") {
            Some("Bearer secret") => None,
            _ => Some(HttpResponse::from_status(StatusCode::UNAUTHORIZED).with_content("who are you?")),
        }
    })
}

#[tokio::test]
async fn a_before_handler_that_answers_ends_the_pipeline_as_in_sisk() {
    let mut r = Router::new();
    r.add_global_request_handler(RequestHandler::after(|_req, res: HttpResponse| async move {
        res.with_header("X-Global-After", "1")
    }));
    r += Route::get("/private", |_req| async { "secret data" })
        .with_request_handler(authenticate())
        .with_request_handler(RequestHandler::after(|_req, res: HttpResponse| async move {
            res.with_header("X-Route-After", "1")
        }));
    r += Route::get("/public", |_req| async { "public" });
    let server = TestServer::start(r);

    let denied = client().get(server.url("/private")).send().await.unwrap();
    assert_eq!(denied.status().as_u16(), 401);
    assert!(denied.headers().get("x-global-after").is_none(), "no after handler runs on an early answer");
    assert!(denied.headers().get("x-route-after").is_none());
    assert_eq!(denied.text().await.unwrap(), "who are you?");

    let allowed = client().get(server.url("/private")).bearer_auth("secret").send().await.unwrap();
    assert_eq!(
        (allowed.headers()["x-global-after"].to_str().unwrap(), allowed.headers()["x-route-after"].to_str().unwrap()),
        ("1", "1")
    );
    assert_eq!(allowed.text().await.unwrap(), "secret data");

    let public = client().get(server.url("/public")).send().await.unwrap();
    assert_eq!(public.headers()["x-global-after"], "1");
    assert!(public.headers().get("x-route-after").is_none(), "route handlers stay on their route");
}

#[tokio::test]
async fn an_after_handler_can_replace_the_response_and_handlers_run_in_order() {
    let mut r = Router::new();
    for name in ["a", "b"] {
        r.add_global_request_handler(RequestHandler::before(move |req: HttpRequest| async move {
            let trail: String = req.bag().get().unwrap_or_default();
            req.bag().set(trail + name);
            None
        }));
    }
    r += Route::get("/trail", |req: HttpRequest| async move { req.bag().get::<String>().unwrap() })
        .with_request_handler(RequestHandler::after(|_req, res: HttpResponse| async move {
            let body = String::from_utf8_lossy(res.content().unwrap()).into_owned();
            HttpResponse::from_status(StatusCode::ACCEPTED).with_content(format!("replaced {body}"))
        }));
    let server = TestServer::start(r);
    let res = client().get(server.url("/trail")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.text().await.unwrap(), "replaced ab");
}

#[tokio::test]
async fn a_route_bypasses_a_global_handler_by_its_instance_only() {
    let guard = authenticate();
    let mut r = Router::new();
    r.add_global_request_handler(guard.clone());
    r += Route::get("/private", |_req| async { "secret data" });
    r += Route::post("/login", |_req| async { "welcome" }).bypass_global_request_handler(&guard);
    // The same code makes another instance: it is not the global one, so nothing is skipped.
    r += Route::get("/lookalike", |_req| async { "lookalike" }).bypass_global_request_handler(&authenticate());
    let server = TestServer::start(r);

    let status = |res: reqwest::Response| res.status().as_u16();
    assert_eq!(status(client().post(server.url("/login")).send().await.unwrap()), 200);
    assert_eq!(status(client().get(server.url("/private")).send().await.unwrap()), 401);
    assert_eq!(status(client().get(server.url("/lookalike")).send().await.unwrap()), 401);
}

#[tokio::test]
async fn typed_route_parameters_answer_400_on_a_bad_value() {
    let mut r = Router::new();
    r += Route::get("/orders/<id>", |req: HttpRequest| async move {
        req.route_parameter_as::<u32>("id").map(|id| format!("order {}", id + 1))
    });
    r += Route::get("/typo/<id>", |req: HttpRequest| async move { req.route_parameter_as::<u32>("ID").map(|_| "") });
    let server = TestServer::start(r);
    let get = |path: &'static str| {
        let url = server.url(path);
        async move {
            let res = client().get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(get("/orders/41").await, (200, "order 42".to_owned()));
    let (status, message) = get("/orders/forty-one").await;
    assert_eq!(status, 400);
    assert!(message.contains("`id`") && message.contains("u32"), "{message}");
    assert_eq!(get("/orders/99999999999").await.0, 400, "out of range is a bad value too");
    assert_eq!(get("/typo/1").await, (500, String::new()), "a name the route lacks is the program's mistake");
}

#[tokio::test]
async fn options_is_answered_by_its_route_else_200_with_allow_as_in_sisk() {
    let mut r = Router::new();
    r += Route::get("/plain", |_req| async { "plain" });
    r += Route::get("/custom", |_req| async { "custom" });
    r += Route::options("/custom", |_req| async { (StatusCode::ACCEPTED, "my own OPTIONS") });
    let cors = CrossOriginResourceSharingHeaders::new().allow_origin("https://app.example").allow_methods(["GET"]);
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r).use_cors(cors));
    let options = |path: &str, preflight: bool| {
        let mut request = client().request(reqwest::Method::OPTIONS, server.url(path));
        if preflight {
            request = request.header("Origin", "https://app.example").header("Access-Control-Request-Method", "GET");
        }
        async move { request.send().await.unwrap() }
    };

    let plain = options("/plain", false).await;
    assert_eq!((plain.status().as_u16(), plain.headers()["allow"].to_str().unwrap()), (200, "GET, HEAD, OPTIONS"));
    let custom = options("/custom", true).await;
    assert_eq!(custom.status().as_u16(), 202, "the path's own OPTIONS route answers the preflight");
    assert_eq!(custom.headers()["access-control-allow-methods"], "GET", "with the policy's headers added");
    assert_eq!(custom.text().await.unwrap(), "my own OPTIONS");
    assert_eq!(options("/nowhere", true).await.status().as_u16(), 404, "an unknown path, preflight or not");
}

#[tokio::test]
async fn cors_answers_preflight_and_decorates_responses() {
    let mut r = Router::new();
    r += Route::post("/api", |_req| async { "posted" });
    let cors = CrossOriginResourceSharingHeaders::new()
        .allow_origin("https://app.example")
        .allow_methods(["GET", "POST"])
        .allow_headers(["Content-Type"])
        .expose_headers(["X-Total"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600));
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r).use_cors(cors));

    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.url("/api"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 200, "as in Sisk");
    assert_eq!(preflight.headers()["allow"], "POST, OPTIONS");
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-methods"], "GET, POST");
    assert_eq!(h["access-control-allow-headers"], "Content-Type");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");

    let actual = client().post(server.url("/api")).header("Origin", "https://app.example").send().await.unwrap();
    assert_eq!(actual.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(actual.headers()["access-control-expose-headers"], "X-Total");
    assert_eq!(actual.headers()["vary"], "Origin");

    let foreign = client().post(server.url("/api")).header("Origin", "https://evil.example").send().await.unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    assert_eq!(foreign.text().await.unwrap(), "posted", "the route still runs; the browser enforces CORS");
}

// Sisk's `UseCors = false`: on a route built in code, and on an attribute route.
#[route_get("/internal/metrics", use_cors = false)]
async fn metrics(_req: HttpRequest) -> &'static str {
    "metrics"
}

#[tokio::test]
async fn a_route_left_out_of_the_cors_policy_gets_none_of_its_headers() {
    let mut r = Router::new();
    r += Route::get("/public", |_req| async { "public" });
    r += Route::get("/internal/health", |_req| async { "ok" }).without_cors();
    r.auto_scan();
    let cors = CrossOriginResourceSharingHeaders::new().allow_origin("https://app.example").allow_methods(["GET"]);
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r).use_cors(cors));
    let get = |path: &str| client().get(server.url(path)).header("Origin", "https://app.example").send();
    let public = get("/public").await.unwrap();
    assert_eq!(public.headers()["access-control-allow-origin"], "https://app.example", "the control");
    for path in ["/internal/health", "/internal/metrics"] {
        let left_out = get(path).await.unwrap();
        assert!(left_out.headers().get("access-control-allow-origin").is_none(), "{path}: {:?}", left_out.headers());
        assert_eq!(left_out.status(), 200);
        let preflight = client()
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", "https://app.example")
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200);
        assert!(preflight.headers().get("access-control-allow-methods").is_none(), "{path}: no preflight grant");
    }
}

// A route's own policy (`Route::with_cors`, `cors = f` on an attribute route) replaces the server's.
fn embeddable() -> sisk::http::CrossOriginResourceSharingHeaders {
    use sisk::http::CrossOriginResourceSharingHeaders as Cors;
    Cors::new().allow_origin(Cors::AUTO_ALLOW_ORIGIN).allow_credentials(true).max_age(Duration::from_secs(5))
}

#[route_get("/widgets/attribute", cors = embeddable)]
async fn attribute_widget(_req: HttpRequest) -> &'static str {
    "widget"
}

#[tokio::test]
async fn a_route_with_its_own_cors_policy_answers_with_it_and_its_preflight_too() {
    use sisk::http::CrossOriginResourceSharingHeaders as Cors;
    let mut r = Router::new();
    r += Route::get("/public", |_req| async { "public" });
    r += Route::get("/widgets/code", |_req| async { "widget" }).with_cors(embeddable());
    r += Route::post("/widgets/code", |_req| async { "posted" });
    r.auto_scan();
    let server_policy = Cors::new().allow_origin("https://app.example").allow_methods(["GET", "POST"]);
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r).use_cors(server_policy));
    let get = |path: &str, origin: &'static str| client().get(server.url(path)).header("Origin", origin).send();
    let preflight = |path: &str, method: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", "https://blog.example")
            .header("Access-Control-Request-Method", method)
            .send()
    };

    let public = get("/public", "https://blog.example").await.unwrap();
    assert!(public.headers().get("access-control-allow-origin").is_none(), "the server's policy refuses it");
    for path in ["/widgets/code", "/widgets/attribute"] {
        let own = get(path, "https://blog.example").await.unwrap();
        let h = own.headers();
        assert_eq!(h["access-control-allow-origin"], "https://blog.example", "{path}: the request's origin, echoed");
        assert_eq!(h["access-control-allow-credentials"], "true", "{path}");
        assert_eq!(h["vary"], "Origin", "{path}");
        let asked = preflight(path, "GET").await.unwrap();
        assert_eq!(asked.status(), 200, "{path}");
        let h = asked.headers();
        assert_eq!(h["access-control-allow-origin"], "https://blog.example", "{path}: the preflight too");
        assert_eq!(h["access-control-allow-methods"], "GET", "{path}: what it asked, as the route's policy lists none");
        assert_eq!(h["access-control-max-age"], "5", "{path}: the route's max age, not the server's none");
    }
    // The same path's other route keeps the server's policy, and so does a preflight asking for it.
    let other = preflight("/widgets/code", "POST").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none(), "{:?}", other.headers());
    let listed =
        client().post(server.url("/widgets/code")).header("Origin", "https://app.example").send().await.unwrap();
    assert_eq!(listed.headers()["access-control-allow-origin"], "https://app.example");
    assert!(listed.headers().get("access-control-allow-credentials").is_none(), "the server's policy has none");
}

#[tokio::test]
async fn a_route_policy_applies_on_a_server_without_one() {
    let mut r = Router::new();
    r += Route::get("/widgets/code", |_req| async { "widget" }).with_cors(embeddable());
    r += Route::get("/plain", |_req| async { "plain" });
    let server = TestServer::start(r);
    let get = |path: &str| client().get(server.url(path)).header("Origin", "https://blog.example").send();
    let own = get("/widgets/code").await.unwrap();
    assert_eq!(own.headers()["access-control-allow-origin"], "https://blog.example");
    assert!(get("/plain").await.unwrap().headers().get("access-control-allow-origin").is_none());
}
