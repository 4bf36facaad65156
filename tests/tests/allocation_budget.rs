//! The allocations of small requests, held to a budget. dhat's heap profiler is this binary's global
//! allocator (a test binary of its own, since the allocator is global) and counts every allocation
//! while one keep-alive connection sends the same request again and again; the server runs in this
//! process, the client writes a prepared request and reads into a buffer it reuses, so the count is the
//! server's. A change that adds an allocation to every request fails here instead of going unnoticed
//! (each costs about 100 instructions, and a small request has about 16,000).

use std::time::Duration;

use sisk::http::{CrossOriginResourceSharingHeaders, HttpServerHostContextBuilder};
use sisk::prelude::*;
use sisk_tests::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Allocations per `GET /hello`, answered `hello` by a route, with no CORS and no request handlers: hyper's
/// (its read buffer, the request's header map), the request's head and state, the boxed request future
/// and action, the response headers, the header-read sleep. (The slot an event stream's head would come
/// through is in the request's head: it costs none of its own.)
const HELLO_BUDGET: f64 = 10.0;
/// A route with one parameter adds the list of parameters and the decoded value, nothing for the
/// parameter's name, which the route shares.
const PARAMETER_BUDGET: f64 = HELLO_BUDGET + 2.0;
/// An allowed `Origin` under a CORS policy adds the CORS header map (its two allocations) and the
/// request's copy of it (two): the policy's values are made when the server is built, not per request.
const CORS_BUDGET: f64 = HELLO_BUDGET + 4.0;
const REQUESTS: u64 = 200;

/// Sends `request` and reads its whole answer, which ends with `body`, into `buffer`.
async fn exchange(stream: &mut TcpStream, request: &[u8], body: &[u8], buffer: &mut [u8]) {
    stream.write_all(request).await.unwrap();
    let mut read = 0;
    while !(buffer[..read].ends_with(body) && buffer[..read].windows(4).any(|w| w == b"\r\n\r\n")) {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer[read..])).await.unwrap().unwrap();
        assert!(n > 0, "the server closed the connection");
        read += n;
    }
}

/// Serves `builder` and counts the allocations per `request` answered `body` on one connection.
async fn allocations_per_request(builder: HttpServerHostContextBuilder, request: &[u8], body: &[u8]) -> f64 {
    let server = TestServer::start_with(builder);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    // The connection's own allocations (its task, hyper's buffers) come with the first requests.
    for _ in 0..20 {
        exchange(&mut stream, request, body, &mut buffer).await;
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..REQUESTS {
        exchange(&mut stream, request, body, &mut buffer).await;
    }
    (dhat::HeapStats::get().total_blocks - before) as f64 / REQUESTS as f64
}

fn routes() -> Router {
    let mut r = Router::new();
    r += Route::get("/hello", |_req| async { "hello" });
    r += Route::get("/users/<id>", |req: HttpRequest| async move {
        assert_eq!(req.route_parameter("id"), Some("42"));
        "user"
    });
    r
}

#[tokio::test(flavor = "current_thread")]
async fn small_requests_stay_within_their_allocation_budgets() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let plain = || HttpServer::create_builder().use_router(routes());
    let cases = [
        ("GET /hello", plain(), &b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"[..], &b"hello"[..], HELLO_BUDGET),
        ("GET /users/<id>", plain(), b"GET /users/42 HTTP/1.1\r\nHost: t\r\n\r\n", b"user", PARAMETER_BUDGET),
        (
            "GET /hello with an allowed Origin",
            plain().use_cors(CrossOriginResourceSharingHeaders::allow_all().expose_headers(["X-Total-Count"])),
            b"GET /hello HTTP/1.1\r\nHost: t\r\nOrigin: https://a.example\r\n\r\n",
            b"hello",
            CORS_BUDGET,
        ),
    ];
    for (name, builder, request, body, budget) in cases {
        let per_request = allocations_per_request(builder, request, body).await;
        println!("{name}: {per_request:.2} allocations per request");
        // Half an allocation of slack: one more per request fails, while an occasional allocation of the
        // runtime's own (a timer wheel growing, a few times over the run) does not.
        assert!(per_request < budget + 0.5, "{per_request:.2} allocations per {name}; the budget is {budget}");
    }
}
