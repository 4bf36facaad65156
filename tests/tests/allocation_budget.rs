//! The allocations of a small request, held to a budget. dhat's heap profiler is this binary's global
//! allocator (a test binary of its own, since the allocator is global) and counts every allocation
//! while one keep-alive connection sends `GET /hello` again and again; the server runs in this process,
//! the client writes a prepared request and reads into a buffer it reuses, so the count is the
//! server's. A change that adds an allocation to every request fails here instead of going unnoticed
//! (each costs about 100 instructions, and a small request has about 16,000).

use std::time::Duration;

use sisk::prelude::*;
use sisk_tests::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Allocations per `GET /hello`, answered `hello` by a route, with no CORS and no request handlers: the
/// count when the test was written (the request and its state, the head slot an event stream would
/// use, the boxed pipeline and action, the response headers, the header-read sleep).
const BUDGET: f64 = 11.0;
const REQUESTS: u64 = 200;

/// Sends `GET /hello` and reads its whole answer into `buffer`.
async fn hello(stream: &mut TcpStream, buffer: &mut [u8]) {
    stream.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut read = 0;
    while !buffer[..read].ends_with(b"\r\n\r\nhello") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer[read..])).await.unwrap().unwrap();
        assert!(n > 0, "the server closed the connection");
        read += n;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_small_request_stays_within_its_allocation_budget() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut r = Router::new();
    r += Route::get("/hello", |_req| async { "hello" });
    let server = TestServer::with(r, |_| {});
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    // The connection's own allocations (its task, hyper's buffers) come with the first requests.
    for _ in 0..20 {
        hello(&mut stream, &mut buffer).await;
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..REQUESTS {
        hello(&mut stream, &mut buffer).await;
    }
    let per_request = (dhat::HeapStats::get().total_blocks - before) as f64 / REQUESTS as f64;
    println!("{per_request:.2} allocations per request");
    assert!(per_request <= BUDGET, "{per_request:.2} allocations per GET /hello; the budget is {BUDGET}");
}
