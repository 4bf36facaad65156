//! Server handlers (Sisk's `HttpServerHandler`), over sockets: the hooks of the server's life and of every
//! request's come in order, several handlers are called in the order given, a hook that panics is
//! contained, and a request's close tells what became of it — its sizes, its failure, a stream's end.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sisk::http::handlers::{HttpServerExecutionResult, HttpServerHandler};
use sisk::prelude::*;
use sisk::routing::HandlerFailure;
use sisk_test_support::support::Frames;
use support::{client, eventually, TestServer, LIMIT};

/// What one handler saw, in order.
type Seen = Arc<Mutex<Vec<String>>>;

/// A handler that writes down each hook it is called with, under its name.
struct Recorder {
    name: &'static str,
    seen: Seen,
}

impl Recorder {
    fn note(&self, what: String) {
        self.seen.lock().unwrap().push(format!("{} {what}", self.name));
    }
}

impl HttpServerHandler for Recorder {
    fn on_server_starting(&self, _server: &HttpServer) {
        self.note("starting".into());
    }
    fn on_server_started(&self, server: &HttpServer) {
        self.note(format!("started {}", server.local_addr().ip()));
    }
    fn on_server_stopping(&self, server: &HttpServer) {
        self.note(format!("stopping {}", server.is_stopping()));
    }
    fn on_server_stopped(&self, _server: &HttpServer) {
        self.note("stopped".into());
    }
    fn on_setup_router(&self, router: &mut Router) {
        self.note("setup".into());
        if self.name == "a" {
            router.map_get("/added-by-handler", |_req| async { "from the handler" });
        }
    }
    fn on_http_request_open(&self, request: &HttpRequest) {
        self.note(format!("open {} {}", request.method(), request.path()));
        request.bag().set(format!("opened by {}", self.name));
    }
    fn on_http_request_close(&self, result: &HttpServerExecutionResult) {
        let request = result.request();
        self.note(format!(
            "close {} {} {} {:?} in={} out={} failure={}",
            request.method(),
            request.path(),
            result.status_code().as_u16(),
            result.status(),
            result.request_size(),
            result.response_size(),
            result.failure().map(HandlerFailure::message).unwrap_or("none"),
        ));
    }
    fn on_exception(&self, failure: &HandlerFailure) {
        self.note(format!("exception {}", failure.message()));
    }
}

/// A handler whose request-open hook panics.
struct Panicking;

impl HttpServerHandler for Panicking {
    fn on_http_request_open(&self, _request: &HttpRequest) {
        panic!("a server handler's bug");
    }
}

fn routes() -> Router {
    let mut r = Router::new();
    r.map_get("/hello", |req: HttpRequest| async move {
        let opened = req.bag().get::<String>().unwrap_or_default();
        format!("hello ({opened})")
    });
    r.map_post("/echo", |req: HttpRequest| async move { req.body_string().await });
    r.map_get("/broken", |_req| async {
        Err::<&str, _>(sisk::Error::with_status(StatusCode::UNPROCESSABLE_ENTITY, "no items"))
    });
    r.map_get("/boom", |_req| async {
        panic!("handler bug");
        #[allow(unreachable_code)]
        "never"
    });
    r.map_get("/events", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        sse.send("two");
        sse.keep_alive().await;
        sse.close()
    });
    r
}

fn taken(seen: &Seen) -> Vec<String> {
    std::mem::take(&mut *seen.lock().unwrap())
}

async fn wait_for(seen: &Seen, what: &str) {
    eventually(what, || seen.lock().unwrap().iter().any(|line| line.contains(what))).await;
}

#[tokio::test]
async fn hooks_come_in_order_for_the_server_and_each_request() {
    let seen = Seen::default();
    let builder = HttpServer::create_builder()
        .use_router(routes())
        .use_handler(Recorder { name: "a", seen: seen.clone() })
        .use_handler(Recorder { name: "b", seen: seen.clone() });
    let server = TestServer::start_with(builder);
    wait_for(&seen, "b started").await;
    assert_eq!(
        taken(&seen),
        ["a setup", "b setup", "a starting", "b starting", "a started 127.0.0.1", "b started 127.0.0.1"]
    );

    // The last handler to open the request filled its bag last: the action sees it.
    let body = client().get(server.url("/hello")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "hello (opened by b)");
    wait_for(&seen, "b close GET /hello").await;
    assert_eq!(
        taken(&seen),
        [
            "a open GET /hello",
            "b open GET /hello",
            "a close GET /hello 200 Executed in=0 out=19 failure=none",
            "b close GET /hello 200 Executed in=0 out=19 failure=none",
        ]
    );

    // A route a handler added when the router was set up; the router's own 404 is seen too.
    let added = client().get(server.url("/added-by-handler")).send().await.unwrap().text().await.unwrap();
    assert_eq!(added, "from the handler");
    assert_eq!(client().get(server.url("/nowhere")).send().await.unwrap().status(), 404);
    wait_for(&seen, "b close GET /nowhere").await;
    let lines = taken(&seen);
    assert!(
        lines.contains(&"a close GET /added-by-handler 200 Executed in=0 out=16 failure=none".to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&"a close GET /nowhere 404 Executed in=0 out=0 failure=none".to_owned()), "{lines:?}");

    server.stop().await;
    assert_eq!(taken(&seen), ["a stopping true", "b stopping true", "a stopped", "b stopped"]);
}

#[tokio::test]
async fn a_request_s_close_tells_its_sizes_and_failures() {
    let seen = Seen::default();
    let builder = HttpServer::create_builder()
        .use_router(routes())
        .use_configuration(|config| config.maximum_content_length = 1024)
        .use_handler(Recorder { name: "a", seen: seen.clone() });
    let server = TestServer::start_with(builder);

    let echoed = client().post(server.url("/echo")).body("twelve bytes").send().await.unwrap();
    assert_eq!(echoed.text().await.unwrap(), "twelve bytes");
    wait_for(&seen, "close POST /echo").await;
    assert!(taken(&seen).contains(&"a close POST /echo 200 Executed in=12 out=12 failure=none".to_owned()));

    let refused = client().get(server.url("/broken")).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    wait_for(&seen, "close GET /broken").await;
    let lines = taken(&seen);
    assert!(lines.contains(&"a exception no items".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&"a close GET /broken 422 UncaughtExceptionThrown in=0 out=8 failure=no items".to_owned()),
        "{lines:?}"
    );

    assert_eq!(client().get(server.url("/boom")).send().await.unwrap().status(), 500);
    wait_for(&seen, "close GET /boom").await;
    let lines = taken(&seen);
    assert!(lines.contains(&"a exception handler bug".to_owned()), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("a close GET /boom 500 UncaughtExceptionThrown")), "{lines:?}");

    let too_large = client().post(server.url("/echo")).body(vec![b'x'; 2048]).send().await.unwrap();
    assert_eq!(too_large.status(), 413);
    wait_for(&seen, "ContentTooLarge").await;
    assert!(taken(&seen).iter().any(|l| l.starts_with("a close POST /echo 413 ContentTooLarge in=2048")));
}

#[tokio::test]
async fn a_failure_the_callback_error_handler_answers_is_an_exception_thrown() {
    let seen = Seen::default();
    let mut r = routes();
    r.set_callback_error_handler(|failure: &HandlerFailure, _req: &HttpRequest| {
        HttpResponse::from_status(StatusCode::SERVICE_UNAVAILABLE).with_content(failure.message().to_owned())
    });
    let builder = HttpServer::create_builder().use_router(r).use_handler(Recorder { name: "a", seen: seen.clone() });
    let server = TestServer::start_with(builder);
    let answer = client().get(server.url("/boom")).send().await.unwrap();
    assert_eq!((answer.status().as_u16(), answer.text().await.unwrap()), (503, "handler bug".to_owned()));
    wait_for(&seen, "close GET /boom").await;
    let lines: Vec<String> =
        taken(&seen).into_iter().filter(|line| line.contains("/boom") || line.contains("exception")).collect();
    assert_eq!(
        lines,
        [
            "a open GET /boom",
            "a exception handler bug",
            "a close GET /boom 503 ExceptionThrown in=0 out=11 failure=handler bug",
        ]
    );
}

#[tokio::test]
async fn an_event_stream_closes_when_its_client_leaves_with_what_it_sent() {
    let seen = Seen::default();
    let builder =
        HttpServer::create_builder().use_router(routes()).use_handler(Recorder { name: "a", seen: seen.clone() });
    let server = TestServer::start_with(builder);
    let mut stream = Frames::open(&server.url("/events")).await;
    assert_eq!(stream.next().await.as_deref(), Some("data: one\n\n"));
    assert_eq!(stream.next().await.as_deref(), Some("data: two\n\n"));
    // Open, the stream is not closed yet.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!seen.lock().unwrap().iter().any(|l| l.contains("close")));
    drop(stream);
    wait_for(&seen, "close GET /events").await;
    let lines = taken(&seen);
    let close = lines.iter().find(|l| l.contains("close")).unwrap();
    // "data: one\n\n" and "data: two\n\n", 11 bytes each.
    assert_eq!(close, "a close GET /events 200 ConnectionClosed in=0 out=22 failure=none", "{lines:?}");
}

#[tokio::test]
async fn a_panicking_hook_is_contained_and_the_next_handler_still_runs() {
    let seen = Seen::default();
    let builder = HttpServer::create_builder()
        .use_router(routes())
        .use_handler(Panicking)
        .use_handler(Recorder { name: "after", seen: seen.clone() });
    let server = TestServer::start_with(builder);
    for _ in 0..2 {
        let answer = tokio::time::timeout(LIMIT, client().get(server.url("/hello")).send()).await.unwrap().unwrap();
        assert_eq!(answer.text().await.unwrap(), "hello (opened by after)");
    }
    wait_for(&seen, "after close GET /hello").await;
    assert!(taken(&seen).contains(&"after open GET /hello".to_owned()));
}
