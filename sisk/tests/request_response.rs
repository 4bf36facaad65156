//! Requests and responses end to end: what a handler can read, and what a response can carry.

mod support;

use std::io::Write as _;

use sisk::http::Cookie;
use sisk::prelude::*;
use support::{client, exchange, TestServer};

#[tokio::test]
async fn the_request_exposes_method_path_url_query_headers_and_remote_address() {
    let mut r = Router::new();
    r += Route::get("/inspect/<id>", |req: HttpRequest| async move {
        let tags: Vec<&str> = req.query().get_all("tag").collect();
        format!(
            "{}|{}|{}|{}|{:?}|{}|{}|{}",
            req.method(),
            req.path(),
            req.full_url(),
            req.route_parameter("id").unwrap(),
            tags,
            req.header("x-custom").unwrap_or("-"),
            req.remote_address().ip(),
            req.server().local_addr(),
        )
    });
    let server = TestServer::start(r);
    let res =
        client().get(server.url("/inspect/5?tag=a%20b&tag=c+d&x=1")).header("X-Custom", "yes").send().await.unwrap();
    let expected = format!(
        "GET|/inspect/5|http://{}/inspect/5?tag=a%20b&tag=c+d&x=1|5|[\"a b\", \"c d\"]|yes|127.0.0.1|{}",
        server.addr, server.addr
    );
    assert_eq!(res.text().await.unwrap(), expected);
}

#[tokio::test]
async fn the_body_is_read_asynchronously_and_can_be_read_twice() {
    let mut r = Router::new();
    r += Route::post("/echo", |req: HttpRequest| async move {
        let first = req.body_bytes().await?;
        let again = req.body_string().await?;
        Ok(format!("{}:{}", first.len(), again))
    });
    let server = TestServer::start(r);
    let res = client().post(server.url("/echo")).body("hello body").send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "10:hello body");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_before_the_action_runs() {
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ran_in_action = ran.clone();
    let mut r = Router::new();
    r += Route::post("/upload", move |_req| {
        ran_in_action.store(true, std::sync::atomic::Ordering::SeqCst);
        async { "accepted" }
    });
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.maximum_content_length = 1024),
    );
    let res = client().post(server.url("/upload")).body(vec![b'x'; 2048]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "the action must not run");
    let res = client().post(server.url("/upload")).body(vec![b'x'; 1024]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn a_chunked_body_growing_past_the_limit_is_413() {
    let mut r = Router::new();
    r += Route::post("/upload", |req: HttpRequest| async move {
        let first = req.body_bytes().await;
        let second = req.body_bytes().await;
        assert_eq!(first, second, "a second read gives the same outcome, not an empty body");
        let body = first?;
        Ok(format!("{}", body.len()))
    });
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.maximum_content_length = 1000),
    );
    let mut request = Vec::new();
    write!(request, "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .unwrap();
    for _ in 0..3 {
        write!(request, "200\r\n{}\r\n", "y".repeat(0x200)).unwrap();
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = exchange(server.addr, &request).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}

/// Sisk's `GetRequestStream`: the body as it arrives, within the same limits as the whole-body getters.
#[tokio::test]
async fn the_request_body_streams_chunk_by_chunk_within_its_limits() {
    use futures_util::StreamExt;
    let mut r = Router::new();
    r += Route::post("/count", |req: HttpRequest| async move {
        let mut body = req.get_request_stream()?;
        let (mut chunks, mut bytes) = (0, 0);
        while let Some(chunk) = body.next().await {
            bytes += chunk?.len();
            chunks += 1;
        }
        let whole = req.body_bytes().await.map(|b| b.len()).map_err(|e| e.kind());
        Ok::<_, sisk::Error>(format!("{bytes} bytes in {} chunk(s); then body_bytes: {whole:?}", chunks.min(2)))
    });
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.maximum_content_length = 1000),
    );
    let chunked = |chunks: &[usize]| {
        let mut request = Vec::new();
        write!(request, "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            .unwrap();
        for size in chunks {
            write!(request, "{size:x}\r\n{}\r\n", "z".repeat(*size)).unwrap();
        }
        request.extend_from_slice(b"0\r\n\r\n");
        request
    };
    let answer = exchange(server.addr, &chunked(&[300, 300, 300])).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("900 bytes in 2 chunk(s); then body_bytes: Err(BodyRead)"), "{answer}");
    let answer = exchange(server.addr, &chunked(&[600, 600])).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "past maximum_content_length the stream fails: {answer}");
}

#[tokio::test]
async fn the_bag_carries_values_from_request_handlers_to_the_action() {
    #[derive(Clone)]
    struct User(&'static str);
    let mut r = Router::new();
    r.add_global_request_handler(RequestHandler::before(|req: HttpRequest| async move {
        req.bag().set(User("alice"));
        None
    }));
    r += Route::get("/me", |req: HttpRequest| async move { req.bag().get::<User>().map(|u| u.0).unwrap_or("nobody") });
    let server = TestServer::start(r);
    assert_eq!(client().get(server.url("/me")).send().await.unwrap().text().await.unwrap(), "alice");
}

#[tokio::test]
async fn responses_carry_status_headers_content_and_cookies() {
    let mut r = Router::new();
    r += Route::get("/full", |req: HttpRequest| async move {
        let mut res = HttpResponse::new()
            .with_status(StatusCode::CREATED)
            .with_header("X-Multi", "1")
            .with_header("X-Multi", "2")
            .with_cookie(Cookie::build(("session", "abc")).path("/").http_only(true))
            .with_content(HttpContent::json(r#"{"ok":true}"#));
        res.set_header("X-Single", "a")?;
        res.set_header("X-Single", "b")?;
        res.set_header("X-Seen-Cookie", req.cookie("theme").unwrap_or_default())?;
        Ok(res)
    });
    let server = TestServer::start(r);
    let res = client().get(server.url("/full")).header("Cookie", "theme=dark; other=1").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let multi: Vec<_> = res.headers().get_all("x-multi").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(multi, ["1", "2"]);
    assert_eq!(res.headers()["x-single"], "b");
    assert_eq!(res.headers()["x-seen-cookie"], "dark");
    assert_eq!(res.headers()["set-cookie"], "session=abc; HttpOnly; Path=/");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["content-length"], "11");
    assert_eq!(res.text().await.unwrap(), r#"{"ok":true}"#);
}

#[tokio::test]
async fn head_is_answered_by_the_get_route_without_a_body() {
    let mut r = Router::new();
    r += Route::get("/page", |_req| async { "twelve bytes" });
    let server = TestServer::start(r);
    let response = exchange(server.addr, b"HEAD /page HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-length: 12\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\n"), "no body after the head: {response:?}");
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_on_the_same_port() {
    let mut r = Router::new();
    r += Route::get("/", |req: HttpRequest| async move { format!("{:?}", req.version()) });
    let server = TestServer::start(r);
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let res = h2.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.text().await.unwrap(), "HTTP/2.0");
    let res = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "HTTP/1.1");
}
