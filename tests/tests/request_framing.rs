//! Requests whose framing is ambiguous or malformed, on raw sockets. The guard throughout is against
//! request smuggling: whatever a client writes, the bytes of one request are never read as a second
//! request on the same connection, which a proxy in front, framing them differently, would have passed
//! as a body. Each case is followed by `GET /smuggled`; the route counts its calls, which must stay 0.
//! Malformed request lines and chunk sizes are refused with a 4xx or a close, and the server goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sisk::prelude::*;
use sisk_tests::{exchange, TestServer};

/// A server with `/echo` (reads its body), `/hello`, and `/smuggled`, which counts its calls.
fn server() -> (TestServer, Arc<AtomicUsize>) {
    let smuggled = Arc::new(AtomicUsize::new(0));
    let counter = smuggled.clone();
    let mut r = Router::new();
    r += Route::post("/echo", |req: HttpRequest| async move {
        let body = req.body_bytes().await?;
        Ok::<_, sisk::Error>(format!("{} bytes", body.len()))
    });
    r += Route::get("/hello", |_req| async { "hello" });
    r += Route::get("/smuggled", move |_req| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "smuggled" }
    });
    let server = TestServer::with(r, |c| {
        // A connection kept open after a refused request is closed by this, so no case waits long.
        c.header_read_timeout = Duration::from_millis(800);
        c.body_idle_timeout = Duration::from_millis(800);
        c.maximum_content_length = 1024;
    });
    (server, smuggled)
}

const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

/// The status of each response in `answer`, in order.
fn statuses(answer: &str) -> Vec<u16> {
    answer.match_indices("HTTP/1.1 ").filter_map(|(at, _)| answer.get(at + 9..at + 12)?.parse().ok()).collect()
}

/// Sends `head` + `body` + a second request; returns every status the server answered.
async fn attack(server: &TestServer, head: &str, body: &str) -> Vec<u16> {
    let answer = exchange(server.addr, format!("{head}\r\n{body}{SMUGGLED}").as_bytes()).await;
    statuses(&answer)
}

#[tokio::test]
async fn content_length_beside_transfer_encoding_never_smuggles() {
    let (server, smuggled) = server();
    // A front end that frames by Content-Length passes the rest as this request's body; one that frames
    // by chunks sees an empty body and then a second request. sisk must not serve that second request.
    for (head, body) in [
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n", "0\r\n\r\n"),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    ] {
        let answered = attack(&server, head, body).await;
        assert!(answered.len() <= 1, "{head:?}: answered {answered:?}");
    }
    assert_eq!(smuggled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn conflicting_or_malformed_content_lengths_are_refused() {
    let (server, smuggled) = server();
    for head in [
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 42\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 42\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5 5\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n",
    ] {
        let answered = attack(&server, head, "hello").await;
        assert!(answered.len() <= 1 && answered.iter().all(|s| (400..500).contains(s)), "{head:?}: {answered:?}");
    }
    assert_eq!(smuggled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn transfer_codings_other_than_a_final_chunked_are_refused() {
    let (server, smuggled) = server();
    for coding in ["chunked, gzip", "identity", "gzip", "xchunked", "chunked, identity", "chunked;q=1", "\"chunked\""] {
        let head = format!("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\n");
        let answered = attack(&server, &head, "0\r\n\r\n").await;
        assert!(
            answered.len() <= 1 && answered.iter().all(|s| (400..=501).contains(s) && *s != 408),
            "Transfer-Encoding: {coding}: {answered:?}"
        );
    }
    // Folded or misspelt header lines are no way around it.
    for head in [
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    ] {
        let answered = attack(&server, head, "0\r\n\r\n").await;
        assert!(answered.len() <= 1, "{head:?}: {answered:?}");
    }
    assert_eq!(smuggled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_chunk_size_that_overflows_or_lies_is_refused() {
    let (server, smuggled) = server();
    let chunked = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n";
    for body in [
        // More hex digits than any integer holds.
        "FFFFFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n",
        // A size past the body limit, then a little data and silence.
        "7FFFFFFFFFFFFFFF\r\nabc",
        // Not a number.
        "zz\r\nabc\r\n0\r\n\r\n",
        // A size that is too short for what follows: the rest must not become a request.
        "1\r\nabcdef\r\n0\r\n\r\n",
        // A chunk extension that never ends.
        &format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(64 * 1024)),
    ] {
        let answered = attack(&server, chunked, body).await;
        assert!(
            answered.len() <= 1 && answered.iter().all(|s| (400..500).contains(s)),
            "{:?}: {answered:?}",
            &body[..body.len().min(40)]
        );
    }
    // A body larger than the limit, in many chunks, is cut at the limit.
    let many = "10\r\naaaaaaaaaaaaaaaa\r\n".repeat(100);
    assert_eq!(attack(&server, chunked, &many).await, [413]);
    assert_eq!(smuggled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn malformed_request_lines_are_refused_and_the_server_goes_on() {
    let (server, smuggled) = server();
    for line in [
        "GET  /hello HTTP/1.1",
        "GET /hello HTTP/1.1 extra",
        "GET /hel\0lo HTTP/1.1",
        "GET /hello HTTP/9.9",
        "GET /hello HTTP/1.1\u{7f}",
        "G\u{1}T /hello HTTP/1.1",
        "GET\t/hello\tHTTP/1.1",
        "/hello HTTP/1.1",
        "GET",
        "GET /hello",
        "GET /he llo HTTP/1.1",
        "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\u{fc}\u{3}\u{3}",
    ] {
        let answer = exchange(server.addr, format!("{line}\r\nHost: t\r\n\r\n{SMUGGLED}").as_bytes()).await;
        let answered = statuses(&answer);
        assert!(
            answered.iter().all(|s| (400..=505).contains(s) && *s != 408) && answered.len() <= 1,
            "{line:?}: {answer:?}"
        );
    }
    assert_eq!(smuggled.load(Ordering::SeqCst), 0);
    let fine = exchange(server.addr, b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(fine.starts_with("HTTP/1.1 200") && fine.ends_with("hello"), "{fine:?}");
}

/// The control: well-framed pipelined requests are all served, in order, so the checks above are
/// about framing, not about a server that never reads a second request.
#[tokio::test]
async fn well_framed_pipelined_requests_are_all_served() {
    let (server, smuggled) = server();
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello\
         POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n{SMUGGLED}"
    );
    let answer = exchange(server.addr, request.as_bytes()).await;
    assert_eq!(statuses(&answer), [200, 200, 200], "{answer:?}");
    assert!(answer.contains("5 bytes") && answer.contains("3 bytes"), "{answer:?}");
    assert_eq!(smuggled.load(Ordering::SeqCst), 1);
}
