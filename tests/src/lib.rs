//! Support for the end-to-end suites of this crate: a sisk server on 127.0.0.1 that stops when dropped,
//! raw-socket clients that misbehave in the ways an HTTP library never would, and, for the cluster
//! suite, processes of their own: a `redis-server` ([`redis_server`]), sisk nodes ([`node`]), and a
//! reader of their event streams ([`events`]). Every wait is bounded by [`LIMIT`].

pub mod events;
pub mod node;
pub mod process;
pub mod redis_server;

use std::net::SocketAddr;
use std::time::Duration;

use sisk::http::HttpServerHostContextBuilder;
use sisk::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A number no other call in this process returns.
pub fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Every wait in the suites is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(10);

/// A running server on 127.0.0.1 port 0; dropping it stops it.
#[derive(Debug)]
pub struct TestServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The server's handle.
    pub server: HttpServer,
    task: JoinHandle<Result<(), sisk::Error>>,
}

impl TestServer {
    /// Serves what `builder` describes on a listener bound to 127.0.0.1 port 0 (its listening port is
    /// not used).
    pub fn start(builder: HttpServerHostContextBuilder) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("inside a tokio runtime");
        let app = builder.use_listener(listener).build().expect("the server builds");
        let addr = app.local_addr();
        let server = app.server();
        let task = tokio::spawn(app.start_with_shutdown(std::future::pending()));
        TestServer { addr, server, task }
    }

    /// Serves `router` with a configuration changed by `configure`.
    pub fn with(router: Router, configure: impl FnOnce(&mut HttpServerConfiguration)) -> Self {
        Self::start(HttpServer::create_builder().use_router(router).use_configuration(configure))
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop();
        self.task.abort();
    }
}

/// The routes most suites start from: `GET /hello` answers `hello`; `GET /sse/<id>` opens an identified
/// event stream, sends `open`, and waits until the client leaves; `GET /flood/<id>` opens one and writes
/// 64 KiB events until its queue is full (a client that does not read is evicted), then waits.
pub fn hello_and_streams() -> Router {
    let mut r = Router::new();
    r += Route::get("/flood/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        let chunk = "z".repeat(64 * 1024);
        for _ in 0..1000 {
            if !sse.send(&chunk) {
                break;
            }
            tokio::task::yield_now().await;
        }
        sse.keep_alive().await;
        sse.close()
    });
    r += Route::get("/hello", |_req| async { "hello" });
    r += Route::get("/sse/<id>", |req: HttpRequest| async move {
        let id = req.route_parameter("id").unwrap_or_default().to_owned();
        let sse = req.get_event_source(id.as_str());
        sse.send("open");
        sse.keep_alive().await;
        sse.close()
    });
    r
}

/// Sends `request` on a new connection and reads until the server closes it (bounded by [`LIMIT`]).
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("sends");
    read_to_close(&mut stream).await
}

/// Reads until the server closes the connection, or [`LIMIT`] passes.
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server closed `stream` (end of stream or reset) within `within`; bytes it sends first are
/// read and dropped.
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Waits until `condition` holds, checking every few milliseconds; panics after [`LIMIT`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
