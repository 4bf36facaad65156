//! What only sisk's own suites use (a log sink, a parser of event streams nobody here wrote, reports
//! from handlers), beside the workspace's one test support (`sisk-test-support`): the server, the
//! clients, the raw TCP client, the time bound.

#![allow(dead_code)]

use sisk::prelude::*;

#[allow(unused_imports)] // not every test binary uses each
pub use sisk_test_support::raw::{closed_within, exchange, read_to_close, read_until};
#[allow(unused_imports)]
pub use sisk_test_support::support::{client, eventually, unique, TestServer, LIMIT};

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
