//! The router's callback error handler (Sisk's `Router.CallbackErrorHandler`), over sockets: it answers a
//! handler's error (with its kind, status and cause) and a handler's panic, sees the request, and when it
//! panics itself sisk's own answer goes out; the server keeps serving throughout.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sisk::prelude::*;
use sisk::routing::HandlerFailure;
use support::{client, TestServer};

fn routes(r: &mut Router) {
    r.map_get("/broken", |_req| async {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "orders.db is missing");
        Err::<&str, _>(sisk::Error::internal(cause))
    });
    r.map_get("/refused", |_req| async {
        Err::<&str, _>(sisk::Error::with_status(StatusCode::UNPROCESSABLE_ENTITY, "the order has no items"))
    });
    r.map_get("/boom", |_req| async {
        panic!("handler bug");
        #[allow(unreachable_code)]
        "never"
    });
    r.map_get("/fine", |_req| async { "fine" });
}

async fn answer(server: &TestServer, path: &str) -> (u16, String) {
    let response = client().get(server.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_handler_answers_each_failure_with_the_request_and_what_went_wrong() {
    let mut r = Router::new();
    routes(&mut r);
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    r.set_callback_error_handler(move |failure: &HandlerFailure, req: &HttpRequest| {
        counted.fetch_add(1, Ordering::SeqCst);
        let what = match failure {
            HandlerFailure::Error(error) => {
                let cause = std::error::Error::source(error).map(|c| c.to_string()).unwrap_or_default();
                format!("{:?} {} [{cause}]", error.kind(), error.message())
            }
            HandlerFailure::Panic(message) => format!("panic {message}"),
            _ => "other".to_owned(),
        };
        HttpResponse::from_status(failure.status_code()).with_content(format!(
            "{} {}: {what}",
            req.method(),
            req.path()
        ))
    });
    let server = TestServer::start(r);

    let (status, body) = answer(&server, "/broken").await;
    assert_eq!(status, 500);
    assert!(body.starts_with("GET /broken: Internal ") && body.ends_with("[orders.db is missing]"), "{body}");
    assert_eq!(answer(&server, "/refused").await, (422, "GET /refused: Response the order has no items []".to_owned()));
    assert_eq!(answer(&server, "/boom").await, (500, "GET /boom: panic handler bug".to_owned()));
    assert_eq!(answer(&server, "/fine").await, (200, "fine".to_owned()));
    assert_eq!(answer(&server, "/missing").await.0, 404, "a path with no route is no failure");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_handler_that_panics_itself_leaves_sisks_answer_and_nothing_leaks_without_one() {
    let mut r = Router::new();
    routes(&mut r);
    r.set_callback_error_handler(|_failure: &HandlerFailure, _req: &HttpRequest| -> HttpResponse {
        panic!("the error handler has a bug too")
    });
    let server = TestServer::start(r);
    assert_eq!(answer(&server, "/broken").await, (500, String::new()), "the bare status, no cause");
    assert_eq!(answer(&server, "/refused").await, (422, "the order has no items".to_owned()));
    assert_eq!(answer(&server, "/boom").await, (500, String::new()));
    assert_eq!(answer(&server, "/fine").await, (200, "fine".to_owned()));

    let mut plain = Router::new();
    routes(&mut plain);
    let server = TestServer::start(plain);
    assert_eq!(answer(&server, "/broken").await, (500, String::new()));
    assert_eq!(answer(&server, "/refused").await, (422, "the order has no items".to_owned()));
}
