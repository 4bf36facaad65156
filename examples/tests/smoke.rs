//! Every example runs: each is started as its own process on 127.0.0.1 port 0 (through
//! `SISK_LISTENING_PORT`), asked what it is for, and stopped.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::example::Example;

const LIMIT: Duration = Duration::from_secs(15);

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(LIMIT).build().unwrap()
}

/// Reads a streaming response until `needle` appears (bounded by `LIMIT`).
async fn read_until(mut response: reqwest::Response, needle: &str) -> String {
    let started = Instant::now();
    let mut body = String::new();
    while !body.contains(needle) {
        assert!(started.elapsed() < LIMIT, "timed out waiting for {needle:?}; got {body:?}");
        match tokio::time::timeout(LIMIT, response.chunk()).await.unwrap().unwrap() {
            Some(chunk) => body.push_str(&String::from_utf8_lossy(&chunk)),
            None => panic!("stream ended before {needle:?}; got {body:?}"),
        }
    }
    body
}

#[tokio::test]
async fn hello() {
    let example = Example::start("hello");
    let text = client().get(example.url("/hello/Ana")).send().await.unwrap().text().await.unwrap();
    assert_eq!(text, "Olá, Ana!");
    let echo = client().post(example.url("/echo")).body("four").send().await.unwrap().text().await.unwrap();
    assert_eq!(echo, "{\"length\":4}");
}

#[tokio::test]
async fn https() {
    let example = Example::start_on("https", "https://127.0.0.1:0/");
    assert!(example.url("/").starts_with("https://"), "{}", example.url("/"));
    // The example makes a new self-signed certificate at each start: this client cannot know it beforehand.
    let client = reqwest::Client::builder().timeout(LIMIT).danger_accept_invalid_certs(true).build().unwrap();
    let page = client.get(example.url("/")).send().await.unwrap();
    assert_eq!(page.version(), reqwest::Version::HTTP_2, "ALPN chose HTTP/2");
    assert!(page.text().await.unwrap().contains("new EventSource(\"/clock\")"));
    let clock = client.get(example.url("/clock")).send().await.unwrap();
    read_until(clock, "data: tick 1\n\n").await;
}

#[tokio::test]
async fn axum_nest() {
    let example = Example::start("axum-nest");
    assert_eq!(client().get(example.url("/")).send().await.unwrap().text().await.unwrap(), "hello from axum");
    let hello = client().get(example.url("/sisk/hello")).send().await.unwrap();
    assert_eq!(hello.headers()["server"], "sisk in axum", "the tower-http layer ran");
    assert_eq!(hello.text().await.unwrap(), "Olá from sisk, inside axum");
    let clock = client().get(example.url("/sisk/clock")).send().await.unwrap();
    assert!(clock.text().await.unwrap().ends_with("data: tick 4\n\n"));
}

#[tokio::test]
async fn hyper_service() {
    let example = Example::start("hyper-service");
    let whoami = client().get(example.url("/whoami")).send().await.unwrap().text().await.unwrap();
    assert!(whoami.starts_with("you are 127.0.0.1:"), "{whoami}");
}

#[tokio::test]
async fn sse_hello() {
    let example = Example::start("sse-hello");
    let body = client().get(example.url("/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "data: Olá, mundo!\n\n");
}

#[tokio::test]
async fn sse_headers() {
    let example = Example::start("sse-headers");
    let response = client().get(example.url("/")).send().await.unwrap();
    assert_eq!(response.headers()["header-key"], "Header-value");
    assert_eq!(response.text().await.unwrap(), "data: Olá!\n\n");
}

#[tokio::test]
async fn sse_wait_for_fail() {
    let example = Example::start("sse-wait-for-fail");
    let response = client().get(example.url("/")).send().await.unwrap();
    read_until(response, "data: Olá novamente!\n\n").await;
}

#[tokio::test]
async fn sse_ping() {
    let example = Example::start("sse-ping");
    let response = client().get(example.url("/sse")).send().await.unwrap();
    let body = read_until(response, ": ping-message\n\n").await;
    assert_eq!(body, ": ping-message\n\n", "nothing but the ping");
}

#[tokio::test]
async fn sse_query() {
    let example = Example::start("sse-query");
    let response = client().get(example.url("/sse/1")).send().await.unwrap();
    read_until(response, "começam com 'my-connection-'").await;
}

#[tokio::test]
async fn sse_demo() {
    let example = Example::start("sse-demo");
    let page = client().get(example.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.text().await.unwrap().contains("<script src=\"app.js\">"));
    // The page's script and style come from files, through the file server.
    let script = client().get(example.url("/app.js")).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("new EventSource("));
    let style = client().get(example.url("/style.css")).send().await.unwrap();
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");
    let stream = client().get(example.url("/events")).header("Last-Event-ID", "41").send().await.unwrap();
    assert_eq!(stream.headers()["x-sisk-demo"], "on");
    let body = read_until(stream, "data: tick").await;
    // "41" is no id of this server's log: the stale event first, carrying the head as the new cursor.
    assert!(body.starts_with("event: stale\nid: "), "{body}");
    assert!(body.contains("event: welcome\nretry: 1000\ndata: client"), "{body}");
    assert!(body.contains("event: resumed\ndata: 41 Stale { reason: Unknown }\n\n"), "{body}");
}

#[tokio::test]
async fn file_server() {
    let example = Example::start("file-server");
    let listing = client().get(example.url("/")).send().await.unwrap();
    assert_eq!(listing.headers()["content-type"], "text/html; charset=utf-8");
    assert!(listing.text().await.unwrap().contains("<a href=\"hello.rs\">hello.rs</a>"));
    let source = client().get(example.url("/hello.rs")).send().await.unwrap();
    let etag = source.headers()["etag"].clone();
    assert!(source.text().await.unwrap().starts_with("//! The smallest sisk server"));
    let current = client().get(example.url("/hello.rs")).header("If-None-Match", etag).send().await.unwrap();
    assert_eq!(current.status().as_u16(), 304);
    let part = client().get(example.url("/hello.rs")).header("Range", "bytes=0-2").send().await.unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.text().await.unwrap(), "//!");
    let page = client().get(example.url("/sse-demo/index.html")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("<script src=\"app.js\">"));
    let compressed = client().get(example.url("/hello.rs")).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let part = client().get(example.url("/hello.rs")).header("Accept-Encoding", "gzip").header("Range", "bytes=0-2");
    let part = part.send().await.unwrap();
    assert!(part.headers().get("content-encoding").is_none(), "a range is sent as it is");
    assert_eq!(part.text().await.unwrap(), "//!");
}

#[tokio::test]
async fn streaming() {
    let example = Example::start("streaming");
    let own_source = include_str!("../examples/streaming.rs");
    let get = |path: &str| client().get(example.url(path)).send();
    let source = get("/source").await.unwrap();
    assert_eq!(source.headers()["content-length"], own_source.len().to_string().as_str());
    assert_eq!(source.text().await.unwrap(), own_source);
    let copy = get("/copy").await.unwrap();
    assert_eq!(copy.headers()["content-length"], own_source.len().to_string().as_str());
    assert_eq!(copy.text().await.unwrap(), own_source);
    let report = get("/report").await.unwrap();
    assert_eq!(report.headers()["content-type"], "text/csv");
    let report = report.text().await.unwrap();
    assert!(report.starts_with("id,square\n1,1\n") && report.ends_with("100,10000\n"), "{report}");
    let numbers = get("/numbers").await.unwrap().text().await.unwrap();
    assert_eq!(numbers.lines().count(), 10_000);
    assert!(numbers.ends_with("9999\n10000\n"));
}

#[tokio::test]
async fn controllers() {
    let example = Example::start("controllers");
    let get = |path: &str| {
        let url = example.url(path);
        async move {
            let response = client().get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/api/users").await, (200, "alice\nbob".into()));
    assert_eq!(get("/api/users/2").await, (200, "bob".into()));
    assert_eq!(get("/api/users/9").await.0, 404);
    let events = client().get(example.url("/api/users/events")).send().await.unwrap();
    let created = client().post(example.url("/api/users")).body("ana").send().await.unwrap();
    assert_eq!((created.status().as_u16(), created.text().await.unwrap()), (201, "/api/users/3".into()));
    let received = read_until(events, "data: ana\n\n").await;
    assert!(received.contains("event: user-created\nid: "), "a named event with the log's id: {received:?}");
    // Routes of another crate, the sisk_examples library: a controller type and a free function.
    assert_eq!(get("/health").await, (200, "live".into()));
    assert_eq!(get("/version").await, (200, env!("CARGO_PKG_VERSION").into()));
}

#[tokio::test]
async fn json_broadcast() {
    let example = Example::start("json-broadcast");
    let page = client().get(example.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("JSON.parse(e.data)") && page.contains("\"Content-Type\": \"application/json\""));
    let events = client().get(example.url("/events")).send().await.unwrap();
    let post = |content_type: &'static str, body: &'static str| {
        let url = example.url("/messages");
        async move {
            let response = client().post(url).header("content-type", content_type).body(body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, posted) = post("application/json", r#"{"author":"Ana","text":"Olá, todos!"}"#).await;
    assert_eq!(status, 201, "{posted}");
    assert!(posted.ends_with(r#""delivered":1}"#), "{posted}");
    // After the log's priming cursor, the message: a named event with the log's id, its data one line of JSON.
    let received = read_until(events, "Olá, todos!\"}\n\n").await;
    assert!(received.contains("\n\nevent: chat\nid: "), "{received:?}");
    assert!(received.contains(r#"data: {"id":1,"author":"Ana","text":"Olá, todos!"}"#), "{received:?}");
    let (status, text) = post("application/json", r#"{"author":"Ana"}"#).await;
    assert!(status == 400 && text.contains("missing field `text`"), "{status} {text}");
    assert_eq!(post("text/plain", r#"{"author":"Ana","text":"hi"}"#).await.0, 415);
    assert_eq!(post("application/json", r#"{"author":"Ana","text":"  "}"#).await.0, 422);
}

#[tokio::test]
async fn websocket_chat() {
    let example = Example::start("websocket-chat");
    let page = client().get(example.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("new WebSocket("), "{page}");
    // A plain GET to the socket's route is told to upgrade.
    let plain = client().get(example.url("/chat")).send().await.unwrap();
    assert_eq!(plain.status(), 426);
    assert_eq!(plain.headers()["upgrade"], "websocket");
    let stats = client().get(example.url("/stats")).send().await.unwrap().text().await.unwrap();
    assert_eq!(stats, r#"{"pongs":{}}"#);
}

#[tokio::test]
async fn forms() {
    let example = Example::start("forms");
    let post = |path: &str, content_type: String, body: Vec<u8>| {
        let url = example.url(path);
        async move {
            let response = client().post(url).header("content-type", content_type).body(body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let urlencoded = || "application/x-www-form-urlencoded".to_owned();
    assert_eq!(
        post("/profile", urlencoded(), b"name=Ana+Maria&age=31".to_vec()).await,
        (200, "Ana Maria, 31 years old".into())
    );
    assert_eq!(post("/profile", urlencoded(), b"name=Ana&age=old".to_vec()).await.0, 400);
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nnotes\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    let (status, report) = post("/upload", "multipart/form-data; boundary=XyZ".into(), body.to_vec()).await;
    assert_eq!(status, 200, "{report}");
    assert!(report.starts_with("title = \"notes\"\nfile: \"a.txt\", 5 bytes, saved as "), "{report}");
    let saved = report.rsplit_once("saved as ").unwrap().1;
    assert_eq!(std::fs::read_to_string(saved).unwrap(), "hello");
    std::fs::remove_file(saved).unwrap();
    let (status, text) = post("/upload", "multipart/form-data".into(), body.to_vec()).await;
    assert!(status == 400 && text.contains("boundary"), "{status} {text}");
}

#[tokio::test]
async fn behind_proxy() {
    let example = Example::start("behind-proxy");
    let response = client()
        .get(example.url("/?from=proxy"))
        .header("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "client 203.0.113.9, secure, host shop.example, https://shop.example/?from=proxy"
    );
}

/// Sends `signal` to a running example and checks it stops gracefully, exiting with 0.
async fn stops_gracefully_on(signal: &str) {
    let mut example = Example::start("hello");
    assert_eq!(client().get(example.url("/")).send().await.unwrap().text().await.unwrap(), "Olá, mundo!");
    let status = Command::new("kill").args([signal, &example.process.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = example.process.child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < LIMIT, "the server did not stop on {signal}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "a graceful stop exits with 0: {exit:?}");
}

#[tokio::test]
async fn sigterm_stops_a_server_gracefully() {
    stops_gracefully_on("-TERM").await;
}

#[tokio::test]
async fn ctrl_c_stops_a_server_gracefully() {
    stops_gracefully_on("-INT").await;
}

/// A child process killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_first_server_tells_where_it_listens_and_a_panic_with_no_logging_set_up() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let exe = std::env::current_exe().unwrap();
    let binary = exe.parent().unwrap().parent().unwrap().join("examples").join("first-server");
    let mut child = Command::new(&binary)
        .env("SISK_LISTENING_PORT", "http://127.0.0.1:0/")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let stderr = child.stderr.take().unwrap();
    let _child = Child(child);
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let next_with = |needle: &str| loop {
        let line = received.recv_timeout(LIMIT).unwrap_or_else(|_| panic!("no line with {needle:?} on stderr"));
        if line.contains(needle) {
            return line;
        }
    };
    let line = next_with("sisk info: listening on ");
    let base = line[line.find("http://").unwrap()..].trim_end_matches('/').to_owned();
    let hello = client().get(format!("{base}/hello/Ana")).send().await.unwrap().text().await.unwrap();
    assert_eq!(hello, "Hello, Ana!");
    assert_eq!(client().get(format!("{base}/bug")).send().await.unwrap().status(), 500);
    let told = next_with("sisk error: a handler panicked");
    assert!(told.contains("a bug in a handler"), "{told}");
}

#[tokio::test]
async fn mcp_server() {
    let example = Example::start("mcp-server");
    let mut mcp = sisk_test_support::mcp_client::McpClient::connect(&example.url("/mcp")).await;
    let tools = mcp.request("tools/list", serde_json::json!({})).await;
    assert_eq!(tools["tools"][0]["name"], "math_sum");
    let sum = mcp.call_tool("math_sum", serde_json::json!({ "numbers": [1.5, 2] })).await;
    assert_eq!(sum, ("Sum result: 3.5000".to_owned(), false));
    assert_eq!(tools["tools"][1]["inputSchema"]["properties"]["numbers"]["minItems"], 1, "{tools}");
    let mean = mcp.call_tool("math_mean", serde_json::json!({ "numbers": [1, 2] })).await;
    assert_eq!(mean, ("Mean: 1.5000".to_owned(), false));
    let (why, failed) = mcp.call_tool("math_mean", serde_json::json!({ "numbers": [] })).await;
    assert!(failed && why.contains("invalid arguments"), "{why}");
}

#[tokio::test]
async fn chat_completions() {
    let example = Example::start_with_env("chat-completions", &[("CHAT_THINKING_MS", "0"), ("CHAT_TOKEN_MS", "0")]);
    let body = r#"{"model":"echo","messages":[{"role":"user","content":"ping"}],"stream":true}"#;
    let request = client().post(example.url("/v1/chat/completions")).header("content-type", "application/json");
    let stream = request.body(body).send().await.unwrap();
    let received = read_until(stream, "data: [DONE]\n\n").await;
    assert!(received.contains(r#""delta":{"content":" ping"}"#), "{received}");
}
