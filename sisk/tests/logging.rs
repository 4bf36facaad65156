//! The access and error logs (Sisk's logging page), over sockets and read back from their files: one line
//! per request in the configured format, an event stream's once when it ends, the client's address as the
//! forwarding resolver sees it; a file rotated by size into gzipped files with no line lost; the error log
//! with the request's headers and the error's causes, and nothing for a failure the callback answered; a
//! format or a file that cannot be used fails the build.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sisk::http::{ForwardingResolver, LogStream, RotatingPolicy};
use sisk::prelude::*;
use sisk::routing::HandlerFailure;
use sisk_test_support::support::Frames;
use support::{client, eventually, unique, TestServer};

/// A folder of its own under the system's temporary one, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let path = std::env::temp_dir().join(format!("sisk-logging-{}-{}", std::process::id(), unique()));
        Folder(path)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

async fn wait_for_lines(path: &Path, count: usize) -> Vec<String> {
    eventually(&format!("{} has {count} lines", path.display()), || lines_of(path).len() >= count).await;
    lines_of(path)
}

fn routes() -> Router {
    let mut r = Router::new();
    r.map_get("/hello", |_req| async { "hello" });
    r.map_get("/events", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        sse.send("one");
        sse.keep_alive().await;
        sse.close()
    });
    r.map_get("/broken", |_req| async {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "orders.db is missing");
        Err::<&str, _>(sisk::Error::internal(cause))
    });
    r
}

#[tokio::test]
async fn each_request_is_one_line_and_a_stream_s_is_written_when_it_ends() {
    let folder = Folder::new();
    let path = folder.join("logs/access.log");
    let stream = LogStream::new(&path);
    let builder = HttpServer::create_builder().use_router(routes()).use_configuration(|config| {
        config.access_logs_stream = Some(stream);
        config.access_logs_format = "%ri %rm %rz%rq %sc %sd %ls %linr->%lour [%{user-agent}] [%{:content-type}]".into();
        config.forwarding_resolver = Some(ForwardingResolver::trusting(["127.0.0.1"]).unwrap());
    });
    let server = TestServer::start_with(builder);

    let hello = client().get(server.url("/hello?x=1")).header("user-agent", "tester/1").send().await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "hello");
    let lines = wait_for_lines(&path, 1).await;
    assert_eq!(lines, ["127.0.0.1 GET /hello?x=1 200 OK Executed 0->5 [tester/1] [text/plain; charset=utf-8]"]);

    // The client's address as the trusted proxy forwarded it.
    let forwarded = client().get(server.url("/nowhere")).header("x-forwarded-for", "203.0.113.7").send().await;
    assert_eq!(forwarded.unwrap().status(), 404);
    let lines = wait_for_lines(&path, 2).await;
    assert_eq!(lines[1], "203.0.113.7 GET /nowhere 404 Not Found Executed 0->0 [] []");

    // An open stream is not written yet; it is once its client leaves, with what it sent.
    let mut events = Frames::open(&server.url("/events")).await;
    assert_eq!(events.next().await.as_deref(), Some("data: one\n\n"));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(lines_of(&path).len(), 2);
    drop(events);
    let lines = wait_for_lines(&path, 3).await;
    assert_eq!(lines[2], "127.0.0.1 GET /events 200 OK ConnectionClosed 0->11 [] [text/event-stream; charset=utf-8]");
    server.stop().await;
    assert_eq!(lines_of(&path).len(), 3, "each request once");
}

#[tokio::test]
async fn the_default_format_is_sisk_s() {
    let folder = Folder::new();
    let path = folder.join("access.log");
    let builder = HttpServer::create_builder()
        .use_router(routes())
        .use_configuration(|config| config.access_logs_stream = Some(LogStream::new(&path)));
    let server = TestServer::start_with(builder);
    client().get(server.url("/hello?page=2")).send().await.unwrap();
    let line = wait_for_lines(&path, 1).await.remove(0);
    // 127.0.0.1 - [05/Dec/2026 15:21:47 +00:00] "GET /hello?page=2" 200 5B
    let (address, rest) = line.split_once(" - [").unwrap();
    assert_eq!(address, "127.0.0.1");
    let (time, rest) = rest.split_once("] ").unwrap();
    let date = chrono::DateTime::parse_from_str(time, "%d/%b/%Y %H:%M:%S %:z");
    assert!(date.is_ok(), "{time:?} reads as a date: {date:?}");
    assert_eq!(rest, "\"GET /hello?page=2\" 200 5B");
}

#[tokio::test]
async fn a_file_rotated_by_size_keeps_every_line_in_gzipped_files() {
    let folder = Folder::new();
    let path = folder.join("access.log");
    let stream = LogStream::new(&path).configure_rotating_policy(RotatingPolicy::maximum_size(300).keep(100));
    let builder = HttpServer::create_builder().use_router(routes()).use_configuration(|config| {
        config.access_logs_stream = Some(stream);
        config.access_logs_format = "%rm %rz%rq %sc".into();
    });
    let server = TestServer::start_with(builder);
    const REQUESTS: usize = 60;
    for n in 0..REQUESTS {
        client().get(server.url(&format!("/hello?n={n:02}"))).send().await.unwrap();
    }
    let all_lines = || {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(&folder.0).unwrap() {
            let file = entry.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let text = if name.ends_with(".gz") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap()).read_to_string(&mut text).unwrap();
                text
            } else {
                std::fs::read_to_string(&file).unwrap()
            };
            lines.extend(text.lines().map(str::to_owned));
        }
        lines.sort();
        lines
    };
    eventually("every line is written", || all_lines().len() >= REQUESTS).await;
    let expected: Vec<String> = (0..REQUESTS).map(|n| format!("GET /hello?n={n:02} 200")).collect();
    assert_eq!(all_lines(), expected, "each line once, across the files");
    let names: Vec<String> =
        std::fs::read_dir(&folder.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|name| name == "access.log.1.gz"), "rotated and gzipped: {names:?}");
    assert!(std::fs::metadata(&path).unwrap().len() <= 300 + 40, "the live file stays near its limit");
}

#[tokio::test]
async fn the_error_log_has_the_request_and_the_causes_and_skips_what_the_callback_answered() {
    let folder = Folder::new();
    let path = folder.join("error.log");
    let mut r = routes();
    r.map_get("/answered", |_req| async { Err::<&str, _>(sisk::Error::with_status(StatusCode::CONFLICT, "taken")) });
    r.set_callback_error_handler(|failure: &HandlerFailure, req: &HttpRequest| {
        if req.path() == "/answered" {
            return HttpResponse::from_status(StatusCode::CONFLICT).with_content("answered");
        }
        failure.default_response()
    });
    let mut unanswered = routes();
    unanswered.map_get("/boom", |_req| async {
        panic!("handler bug");
        #[allow(unreachable_code)]
        "never"
    });
    let errors = LogStream::new(&path);
    let with_callback = TestServer::start_with(
        HttpServer::create_builder().use_router(r).use_configuration(|c| c.errors_logs_stream = Some(errors.clone())),
    );
    let without = TestServer::start_with(
        HttpServer::create_builder().use_router(unanswered).use_configuration(|c| c.errors_logs_stream = Some(errors)),
    );

    assert_eq!(client().get(with_callback.url("/answered")).send().await.unwrap().status(), 409);
    assert_eq!(client().get(without.url("/hello")).send().await.unwrap().status(), 200);
    let broken = client().get(without.url("/broken?id=7")).header("x-request-id", "r-42").send().await.unwrap();
    assert_eq!(broken.status(), 500);
    eventually("the error is written", || lines_of(&path).iter().any(|l| l.contains("caused by"))).await;
    assert_eq!(client().get(without.url("/boom")).send().await.unwrap().status(), 500);
    eventually("the panic is written", || lines_of(&path).iter().any(|l| l.starts_with("panic:"))).await;

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("/answered"), "a failure the callback answered is not an error to log:\n{text}");
    assert!(!text.contains("/hello"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("] GET /broken?id=7 answered 500 after"), "{text}");
    assert!(lines.contains(&"  x-request-id: r-42"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("error: ") && l.contains("orders.db is missing")), "{text}");
    assert!(lines.contains(&"  caused by: orders.db is missing"), "{text}");
    assert!(lines.iter().any(|l| l.contains("] GET /boom answered 500")), "{text}");
    assert!(lines.contains(&"panic: handler bug"), "{text}");
}

#[tokio::test]
async fn a_stream_over_a_writer_gets_the_lines() {
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let written = Shared::default();
    let stream = LogStream::from_writer(written.clone());
    let builder = HttpServer::create_builder().use_router(routes()).use_configuration(|config| {
        config.access_logs_stream = Some(stream.clone());
        config.access_logs_format = "%rm %rz %sc".into();
    });
    let server = TestServer::start_with(builder);
    client().get(server.url("/hello")).send().await.unwrap();
    stream.write_line("a line of the program's own");
    let text = || String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
    eventually("both lines are written", || text().lines().count() == 2).await;
    let mut lines: Vec<String> = text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["GET /hello 200", "a line of the program's own"]);
    assert_eq!(stream.dropped_lines(), 0);
}

#[tokio::test]
async fn a_format_or_a_file_that_cannot_be_used_fails_the_build() {
    let folder = Folder::new();
    let bad_format = HttpServer::create_builder()
        .use_listener(support::loopback_listener())
        .use_configuration(|config| {
            config.access_logs_stream = Some(LogStream::new(folder.join("access.log")));
            config.access_logs_format = "%rm %zz".into();
        })
        .build()
        .unwrap_err();
    assert_eq!(bad_format.kind(), sisk::ErrorKind::InvalidLogConfiguration);
    assert!(bad_format.to_string().contains("unknown variable \"%zz\""), "{bad_format}");

    // A file where the log's folder should be.
    std::fs::create_dir_all(&folder.0).unwrap();
    std::fs::write(folder.join("not-a-folder"), "").unwrap();
    let unwritable = HttpServer::create_builder()
        .use_listener(support::loopback_listener())
        .use_configuration(|config| {
            config.errors_logs_stream = Some(LogStream::new(folder.join("not-a-folder/error.log")));
        })
        .build()
        .unwrap_err();
    assert_eq!(unwritable.kind(), sisk::ErrorKind::Io);
    assert!(unwritable.to_string().contains("cannot open the log file"), "{unwritable}");

    let zero = HttpServer::create_builder()
        .use_listener(support::loopback_listener())
        .use_configuration(|config| {
            let stream =
                LogStream::new(folder.join("zero.log")).configure_rotating_policy(RotatingPolicy::maximum_size(0));
            config.access_logs_stream = Some(stream);
        })
        .build()
        .unwrap_err();
    assert_eq!(zero.kind(), sisk::ErrorKind::InvalidLogConfiguration);
}
