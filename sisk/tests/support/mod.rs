//! Test support: a server on 127.0.0.1 port 0 that stops when dropped, and a raw TCP client for the
//! cases an HTTP client library refuses to produce. What the book's examples use too (the time bound,
//! the HTTP client, `eventually`) is the book's support, included here once.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use sisk::http::HttpServerHostContextBuilder;
use sisk::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The book's doctest support (`book/doctest/support.rs`), whose helpers these tests share.
mod book {
    include!("../../../book/doctest/support.rs");
}

#[allow(unused_imports)] // not every test binary waits with `eventually`
pub use book::support::{client, eventually, LIMIT};

/// A running server; stopping it (or dropping it) shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    pub server: HttpServer,
    task: Option<JoinHandle<Result<(), sisk::Error>>>,
}

impl TestServer {
    /// Serves `router` with the default configuration.
    pub fn start(router: Router) -> Self {
        Self::start_with(HttpServer::create_builder().use_router(router))
    }

    /// Serves what `builder` describes, on a listener bound to 127.0.0.1 port 0.
    pub fn start_with(builder: HttpServerHostContextBuilder) -> Self {
        let app = builder.use_listener(loopback_listener()).build().expect("server builds");
        let addr = app.local_addr();
        let server = app.server();
        let task = tokio::spawn(app.start_with_shutdown(std::future::pending()));
        TestServer { addr, server, task: Some(task) }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and waits until `start_with_shutdown` returns.
    pub async fn stop(mut self) {
        self.server.stop();
        let task = self.task.take().expect("running");
        tokio::time::timeout(LIMIT, task).await.expect("server stops in time").unwrap().unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// A listener on 127.0.0.1 port 0 (the test must run inside a tokio runtime).
pub fn loopback_listener() -> tokio::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
    listener.set_nonblocking(true).unwrap();
    tokio::net::TcpListener::from_std(listener).unwrap()
}

/// A log sink shared with the test: a `tracing_subscriber` writes into it, the test reads what it wrote.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends raw bytes and reads until the server closes or `LIMIT` passes.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_to_close(&mut stream).await
}

/// Reads until the server closes the connection (bounded by `LIMIT`).
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `needle` appears (bounded by `LIMIT`); returns everything read.
pub async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !String::from_utf8_lossy(&out).contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got {:?}", String::from_utf8_lossy(&out)))
            .unwrap();
        if n == 0 {
            panic!("connection closed before {needle:?}; got {:?}", String::from_utf8_lossy(&out));
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server closed `stream` within `within` (end of stream or reset); bytes it sends first
/// are read and dropped.
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

/// A parsed event stream read by the third-party `eventsource-stream` parser.
pub struct Events {
    inner: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<eventsource_stream::Event, String>> + Send>>,
}

impl Events {
    /// Parses the body of `response` as an event stream.
    pub fn new(response: reqwest::Response) -> Self {
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;
        let inner = response.bytes_stream().eventsource().map(|r| r.map_err(|e| e.to_string()));
        Events { inner: Box::pin(inner) }
    }

    /// The next event, or `None` when the stream ends (bounded by `LIMIT`).
    pub async fn next(&mut self) -> Option<eventsource_stream::Event> {
        use futures_util::StreamExt;
        match tokio::time::timeout(LIMIT, self.inner.next()).await.expect("an event or the end in time") {
            Some(Ok(event)) => Some(event),
            Some(Err(err)) => panic!("the stream failed: {err}"),
            None => None,
        }
    }

    /// Every remaining event's data, until the stream ends.
    pub async fn rest(mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = self.next().await {
            out.push(event.data);
        }
        out
    }
}

/// Opens an event stream with `GET` and checks the response head.
pub async fn open_events(url: &str) -> reqwest::Response {
    let res = client().get(url).header("Accept", "text/event-stream").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{url}");
    assert_eq!(res.headers()["content-type"], "text/event-stream; charset=utf-8");
    res
}

/// What handlers tell their test: the sending end (clone it into handlers) and the receiving end.
pub fn reports<T: Send + 'static>() -> (Reporter<T>, Reports<T>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (Reporter(tx), Reports(rx))
}

/// An action that hands each request, with a [`Reporter`], to `handler`; and where its reports arrive.
pub fn reporting<T, F, Fut, R>(handler: F) -> (impl Fn(HttpRequest) -> Fut + Send + Sync + 'static, Reports<T>)
where
    T: Send + 'static,
    F: Fn(HttpRequest, Reporter<T>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    let (reporter, reports) = reports();
    (move |req| handler(req, reporter.clone()), reports)
}

/// The sending end of [`reports`]: a handler reports a value to its test.
pub struct Reporter<T>(tokio::sync::mpsc::UnboundedSender<T>);

impl<T> Clone for Reporter<T> {
    fn clone(&self) -> Self {
        Reporter(self.0.clone())
    }
}

impl<T> Reporter<T> {
    /// Sends `value` to the test (which may have stopped listening).
    pub fn report(&self, value: T) {
        let _ = self.0.send(value);
    }
}

/// The receiving end of [`reports`].
pub struct Reports<T>(tokio::sync::mpsc::UnboundedReceiver<T>);

impl<T> Reports<T> {
    /// The next report, waiting at most `LIMIT`.
    pub async fn next(&mut self) -> T {
        tokio::time::timeout(LIMIT, self.0.recv())
            .await
            .expect("the handler reports in time")
            .expect("every handler that could report is gone")
    }

    /// A report already made, if any.
    pub fn try_next(&mut self) -> Option<T> {
        self.0.try_recv().ok()
    }
}
