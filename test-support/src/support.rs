//! What the book's hidden lines and the test suites use to run a server for real: the one
//! [`TestServer`] (127.0.0.1, a port the system picks, stopped when dropped), an HTTP client, a reader of
//! event streams, and [`eventually`], every wait bounded by [`LIMIT`]. A book block that needs them starts
//! with the hidden line `# use sisk_test_support::support;`; paths here are written in full so that they
//! never clash with the `use` lines of the example itself.

use std::future::Future;
use std::time::Duration;

/// A number no other call in this process returns (for names of temporary files and directories).
pub fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Every wait of an example is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(10);

/// A server running in the background of an example or a test, on 127.0.0.1 with a port the system
/// picks; dropping it stops it. The one test server of the workspace: the suites of `sisk/tests` and
/// of the `sisk-tests` crate use this one too.
#[derive(Debug)]
pub struct TestServer {
    /// The address it listens on.
    pub addr: std::net::SocketAddr,
    /// Its handle, as `req.server()` gives it to handlers.
    pub server: sisk::http::HttpServer,
    task: Option<tokio::task::JoinHandle<Result<(), sisk::Error>>>,
}

impl TestServer {
    /// Serves `router` with the default configuration.
    pub fn start(router: sisk::routing::Router) -> TestServer {
        TestServer::start_with(sisk::http::HttpServer::create_builder().use_router(router))
    }

    /// Serves `router` with a configuration changed by `configure`.
    pub fn with(
        router: sisk::routing::Router,
        configure: impl FnOnce(&mut sisk::http::HttpServerConfiguration),
    ) -> TestServer {
        TestServer::start_with(sisk::http::HttpServer::create_builder().use_router(router).use_configuration(configure))
    }

    /// Serves what `builder` describes (its listening port is not used).
    pub fn start_with(builder: sisk::http::HttpServerHostContextBuilder) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds 127.0.0.1:0");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("inside a tokio runtime");
        let app = builder.use_listener(listener).build().expect("the server builds");
        let (addr, server) = (app.local_addr(), app.server());
        let task = tokio::spawn(app.start_with_shutdown(std::future::pending()));
        TestServer { addr, server, task: Some(task) }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        self.server.stop();
        let task = self.task.take().expect("the server runs until stopped");
        let stopped = tokio::time::timeout(LIMIT, task).await.expect("the server stops in time");
        stopped.expect("the server task did not panic").expect("the server ran without error");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// For programs that call `app.start()` themselves: `build()` then binds 127.0.0.1 on a port the
/// system picks, whatever port the program names (through `SISK_LISTENING_PORT`).
pub fn listen_on_any_port() {
    listen_on_any_port_over("http");
}

/// [`listen_on_any_port`] with `scheme` (`http` or `https`, for a program that calls `use_ssl`).
pub fn listen_on_any_port_over(scheme: &str) {
    std::env::set_var(sisk::http::LISTENING_PORT_VARIABLE, format!("{scheme}://127.0.0.1:0/"));
}

/// For programs that call `app.start()` themselves: runs `check` with the server's base URL (its
/// scheme the one [`listen_on_any_port_over`] set) once the program serves, then stops the server so
/// `start()` returns. A check that fails or takes longer than
/// `LIMIT` ends the program with a failure status.
pub fn check<F, Fut>(server: &sisk::http::HttpServer, check: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = server.clone();
    let port = std::env::var(sisk::http::LISTENING_PORT_VARIABLE).unwrap_or_default();
    let scheme = if port.starts_with("https") { "https" } else { "http" };
    let checking = tokio::spawn(check(format!("{scheme}://{}", server.local_addr())));
    tokio::spawn(async move {
        match tokio::time::timeout(LIMIT, checking).await {
            Ok(Ok(())) => server.stop(),
            Ok(Err(_panicked)) => std::process::exit(101),
            Err(_late) => {
                eprintln!("the example's check did not finish within {LIMIT:?}");
                std::process::exit(101)
            }
        }
    });
}

/// An HTTP/1.1 client whose requests give up after `LIMIT`.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(LIMIT).build().expect("a client")
}

/// `GET url`.
pub async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.expect("the server answers")
}

/// `GET url`, and the body as text.
pub async fn get_text(url: &str) -> String {
    get(url).await.text().await.expect("a text body")
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `LIMIT`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An open event stream, read one frame (the text up to and including its blank line) at a time.
#[derive(Debug)]
pub struct Frames {
    /// The response whose body is the stream.
    pub response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Frames {
    /// Opens `url` as an event stream and checks the response head.
    pub async fn open(url: &str) -> Frames {
        Frames::from(client().get(url).header("Accept", "text/event-stream").send().await.expect("it answers"))
    }

    /// Opens `url` as an identified event stream and reads the frame every such stream starts with:
    /// `id: <head>`, the event log's cursor for the client.
    pub async fn open_identified(url: &str) -> Frames {
        let mut frames = Frames::open(url).await;
        let priming = frames.next().await.expect("the priming frame");
        assert!(priming.starts_with("id: ") && priming.trim_end().lines().count() == 1, "{priming:?}");
        frames
    }

    /// Reads the stream of a response already received.
    pub fn from(response: reqwest::Response) -> Frames {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
        Frames { response, buffer: Vec::new() }
    }

    /// The next frame, or `None` when the server ends the stream.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buffer.drain(..end + 2).collect();
                return Some(String::from_utf8(frame).expect("UTF-8 frames"));
            }
            let chunk = tokio::time::timeout(LIMIT, self.response.chunk())
                .await
                .expect("a frame or the end of the stream in time")
                .expect("the stream reads without error")?;
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The next frame without its `id:` line (the log's ids differ at every run).
    pub async fn next_without_id(&mut self) -> Option<String> {
        let frame = self.next().await?;
        let lines = frame.trim_end().lines().filter(|line| !line.starts_with("id: "));
        Some(lines.map(|line| format!("{line}\n")).collect::<String>() + "\n")
    }

    /// Every remaining frame, until the server ends the stream.
    pub async fn rest(mut self) -> Vec<String> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next().await {
            frames.push(frame);
        }
        frames
    }
}

/// True under CI (`CI` set to anything but empty, `false` or `0`), where what `.ci/run` installs must be
/// there.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The file the environment variable `name` names (a program `.ci/run` installs), or `None` when it is
/// not set: the test should then return, having passed, except under CI, where this panics.
pub fn installed(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os(name).map(std::path::PathBuf::from).filter(|path| path.exists());
    if path.is_none() {
        assert!(!under_ci(), "{name} must name what .ci/run installs, under CI");
        eprintln!("skipped: set {name} (see .ci/run) to run this test");
    }
    path
}
