//! Application state given to the builder and per-request instances in the bag, over real sockets: one
//! store shared by every route with no clone per route, a missing state answered `500`, and a value made
//! once per request however many handlers ask for it.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sisk::prelude::*;
use support::{client, TestServer};

#[derive(Default)]
struct Counter(AtomicUsize);

#[derive(Clone, Debug, PartialEq)]
struct Made(usize);

/// The request's `Made`, made from the server's counter the first time the request asks.
async fn made(req: &HttpRequest) -> Result<Made, sisk::Error> {
    let counter = req.state::<Counter>()?;
    Ok(req.bag().get_or_add_async(|| async { Made(counter.0.fetch_add(1, Ordering::SeqCst)) }).await)
}

#[tokio::test]
async fn state_reaches_every_route_and_a_bag_value_is_made_once_per_request() {
    let before =
        RequestHandler::before(|req: HttpRequest| async move { made(&req).await.err().map(|e| e.into_response()) });
    let after = RequestHandler::after(|req: HttpRequest, res: HttpResponse| async move {
        let again = made(&req).await.expect("the state is there");
        res.with_header("X-Made", again.0.to_string())
    });
    let mut r = Router::new();
    r.add_global_request_handler(before).add_global_request_handler(after);
    r += Route::get("/made", |req| async move { Ok(made(&req).await?.0.to_string()) });
    r += Route::get("/count", |req| async move { Ok(req.state::<Counter>()?.0.load(Ordering::SeqCst).to_string()) });
    let server = TestServer::start_with(HttpServer::create_builder().use_router(r).use_state(Counter::default()));
    for expected in 0..3 {
        let res = client().get(server.url("/made")).send().await.unwrap();
        assert_eq!(res.headers()["x-made"], expected.to_string().as_str(), "the after handler saw the same one");
        assert_eq!(res.text().await.unwrap(), expected.to_string(), "one value per request, shared by its handlers");
    }
    // The `/count` request makes its own value (the before handler) before reading the counter.
    let count = client().get(server.url("/count")).send().await.unwrap().text().await.unwrap();
    assert_eq!(count, "4");
    assert_eq!(server.server.state::<Counter>().unwrap().0.load(Ordering::SeqCst), 4, "the same store from the server");
}

#[tokio::test]
async fn state_never_given_is_a_500_that_says_how_to_give_it() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen_in_handler = seen.clone();
    let mut r = Router::new();
    r += Route::get("/", move |req: HttpRequest| {
        let seen = seen_in_handler.clone();
        async move {
            let missing = req.state::<Counter>().map(|_| ()).unwrap_err();
            *seen.lock().unwrap() = Some(missing.to_string());
            Err::<&str, _>(missing)
        }
    });
    let server = TestServer::start(r);
    let res = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.text().await.unwrap(), "", "the message is for the log, not the client");
    let message = seen.lock().unwrap().clone().unwrap();
    assert!(message.contains("Counter") && message.contains("use_state"), "{message}");
}
