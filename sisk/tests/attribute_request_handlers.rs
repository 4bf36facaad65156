//! Request handlers on attribute routes and controller methods (`#[request_handler(…)]`, above or below
//! the route attribute) and a global handler bypassed with `#[bypass_global_request_handler(…)]`.

mod support;

use std::sync::LazyLock;

use sisk::prelude::*;
use support::{client, TestServer};

/// Lets a request through when it carries the session cookie, putting the session in the bag.
fn require_session() -> RequestHandler {
    RequestHandler::before(|req: HttpRequest| async move {
        match req.cookie("session") {
            Some(session) => {
                req.bag().set(session);
                None
            }
            None => Some(HttpResponse::from_status(StatusCode::UNAUTHORIZED)),
        }
    })
}

/// A global handler that refuses every request without `X-Api-Key`.
static API_KEY: LazyLock<RequestHandler> = LazyLock::new(|| {
    RequestHandler::before(|req: HttpRequest| async move {
        req.header("x-api-key").is_none().then(|| HttpResponse::from_status(StatusCode::FORBIDDEN))
    })
});

/// Marks a response, to check the order of a route's handlers.
fn stamp(value: &'static str) -> RequestHandler {
    RequestHandler::after(move |_req, res: HttpResponse| async move { res.with_header("X-Stamp", value) })
}

#[route_get("/below")]
#[request_handler(require_session())]
async fn below(req: HttpRequest) -> String {
    format!("below {}", req.bag().get::<String>().unwrap_or_default())
}

#[request_handler(require_session())]
#[route_get("/above")]
fn above(req: HttpRequest) -> String {
    format!("above {}", req.bag().get::<String>().unwrap_or_default())
}

#[route_get("/open")]
#[bypass_global_request_handler(API_KEY)]
async fn open(_req: HttpRequest) -> &'static str {
    "open to all"
}

#[route_get("/stamped")]
#[request_handler(stamp("first"))]
#[request_handler(stamp("second"))]
async fn stamped(_req: HttpRequest) -> &'static str {
    "stamped"
}

struct Account {
    owner: &'static str,
}

#[route_prefix("/account")]
impl Account {
    #[route_get]
    #[request_handler(require_session())]
    async fn show(&self, req: HttpRequest) -> String {
        format!("{} {}", self.owner, req.bag().get::<String>().unwrap_or_default())
    }

    #[request_handler(require_session())]
    #[route_get("/static")]
    async fn static_route(_req: HttpRequest) -> &'static str {
        "static"
    }
}

#[tokio::test]
async fn attribute_routes_carry_their_request_handlers() {
    let mut r = Router::new();
    r.add_global_request_handler(API_KEY.clone());
    r.auto_scan();
    r.set_object(Account { owner: "alice" });
    let server = TestServer::start(r);
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = client().get(server.url(path)).header("x-api-key", "k");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move {
            let res = request.send().await.unwrap();
            let stamps: Vec<&str> = res.headers().get_all("x-stamp").iter().map(|v| v.to_str().unwrap()).collect();
            let stamp = stamps.join(", ");
            (res.status().as_u16(), res.text().await.unwrap(), stamp)
        }
    };

    for path in ["/below", "/above", "/account", "/account/static"] {
        assert_eq!(get(path, None).await.0, 401, "{path} without a session");
    }
    assert_eq!(get("/below", Some("session=s1")).await.1, "below s1");
    assert_eq!(get("/above", Some("session=s2")).await.1, "above s2");
    assert_eq!(get("/account", Some("session=s3")).await.1, "alice s3");
    assert_eq!(get("/account/static", Some("session=s4")).await.1, "static");
    assert_eq!(get("/stamped", None).await.2, "first, second", "handlers run in the order written");

    let without_key = |path: &str| client().get(server.url(path)).send();
    assert_eq!(without_key("/open").await.unwrap().status().as_u16(), 200, "the global handler is bypassed");
    assert_eq!(without_key("/stamped").await.unwrap().status().as_u16(), 403, "and runs everywhere else");
}
