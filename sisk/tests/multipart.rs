//! Multipart forms end to end, over real sockets: fields and files read part by part, files saved to disk,
//! and every limit and malformation answered with a 4xx that says why, leaving no half-written file.

#![cfg(feature = "multipart")]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sisk::prelude::*;
use support::{exchange, TestServer};

const BOUNDARY: &str = "----sisk-test-boundary";

/// A part: name, file name (a file when present), content.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart body of `parts`, closed with the final boundary.
fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(filename) = filename {
            body.extend_from_slice(
                format!("; filename=\"{filename}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A whole HTTP/1.1 request carrying `body` with `content_type`; the server closes after answering.
fn request(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The status code and body of a raw HTTP/1.1 response.
fn status_and_body(response: &str) -> (u16, &str) {
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map_or("", |(_, body)| body))
}

/// Where the upload route saves files: a fresh directory of one test, removed when dropped.
struct UploadDir(Arc<PathBuf>);

impl UploadDir {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sisk-multipart-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        UploadDir(Arc::new(dir))
    }
}

impl std::ops::Deref for UploadDir {
    type Target = Arc<PathBuf>;
    fn deref(&self) -> &Arc<PathBuf> {
        &self.0
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&*self.0);
    }
}

/// `POST /upload`: text fields are echoed, files saved under `dir` (named after their field) and reported
/// with their size. `POST /count` reads file parts chunk by chunk and reports their sizes.
fn routes(dir: Arc<PathBuf>) -> Router {
    let mut r = Router::new();
    r += Route::post("/upload", move |req: HttpRequest| {
        let dir = dir.clone();
        async move {
            let mut form = req.get_multipart_form_content()?;
            let mut report = Vec::new();
            while let Some(object) = form.next_object().await? {
                let name = object.name().to_owned();
                match object.filename().map(str::to_owned) {
                    Some(filename) => {
                        let size = object.save_to(dir.join(&name)).await?;
                        report.push(format!("{name}:{filename}:{size}"));
                    }
                    None => report.push(format!("{name}={}", object.text().await?)),
                }
            }
            Ok(report.join(","))
        }
    });
    r += Route::post("/count", |req: HttpRequest| async move {
        if req.query().get("read_first").is_some() {
            // A request handler that read the whole body first: the form is parsed from what it kept.
            req.body_bytes().await?;
        }
        let mut form = req.get_multipart_form_content()?;
        let mut sizes = Vec::new();
        while let Some(mut object) = form.next_object().await? {
            let mut sink = tokio::io::sink();
            sizes.push(object.copy_to(&mut sink).await?.to_string());
        }
        Ok(sizes.join(","))
    });
    r
}

fn serve(dir: &Arc<PathBuf>, configure: impl FnOnce(&mut HttpServerConfiguration)) -> TestServer {
    TestServer::start_with(HttpServer::create_builder().use_router(routes(dir.clone())).use_configuration(configure))
}

#[tokio::test]
async fn fields_and_files_are_read_and_files_saved() {
    let dir = UploadDir::new();
    let server = serve(&dir, |_| {});
    let file = vec![7u8; 100_000];
    let body = multipart(&[("title", None, "Olá".as_bytes()), ("doc", Some("a.bin"), &file), ("empty", None, b"")]);
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    assert_eq!(status_and_body(&response), (200, "title=Olá,doc:a.bin:100000,empty="));
    assert_eq!(std::fs::read(dir.join("doc")).unwrap(), file);
    let response = exchange(server.addr, &request("/count", &form_type(), &body)).await;
    assert_eq!(status_and_body(&response), (200, "4,100000,0"));
    let response = exchange(server.addr, &request("/count?read_first", &form_type(), &body)).await;
    assert_eq!(status_and_body(&response), (200, "4,100000,0"));
}

#[tokio::test]
async fn a_file_over_its_limit_is_413_and_not_left_on_disk() {
    let dir = UploadDir::new();
    let server = serve(&dir, |c| c.maximum_file_size = 10_000);
    let body = multipart(&[("doc", Some("big.bin"), &[1u8; 10_001])]);
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    let (status, text) = status_and_body(&response);
    assert_eq!(status, 413, "{response}");
    assert!(text.contains("the file `doc` is larger than 10000 bytes") && text.contains("maximum_file_size"), "{text}");
    assert_eq!(std::fs::read_dir(&**dir).unwrap().count(), 0, "no file, partial or whole, is left");
    // A file already at the path survives a failed upload, and is replaced by a whole one.
    std::fs::write(dir.join("doc"), "before").unwrap();
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    assert_eq!(status_and_body(&response).0, 413);
    assert_eq!(std::fs::read_to_string(dir.join("doc")).unwrap(), "before");
    // At the limit it is accepted.
    let body = multipart(&[("doc", Some("fits.bin"), &[1u8; 10_000])]);
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    assert_eq!(status_and_body(&response), (200, "doc:fits.bin:10000"));
    assert_eq!(std::fs::read(dir.join("doc")).unwrap().len(), 10_000);
    assert_eq!(std::fs::read_dir(&**dir).unwrap().count(), 1, "and no temporary file beside it");
}

#[tokio::test]
async fn a_field_over_its_limit_and_too_many_fields_are_413() {
    let dir = UploadDir::new();
    let server = serve(&dir, |c| {
        c.maximum_form_field_size = 16;
        c.maximum_form_fields = 2;
    });
    let body = multipart(&[("note", None, &[b'x'; 17])]);
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    let (status, text) = status_and_body(&response);
    assert_eq!(status, 413);
    assert!(text.contains("the field `note` is larger than 16 bytes") && text.contains("maximum_form_field_size"));

    let body = multipart(&[("a", None, b"1"), ("b", None, b"2"), ("c", None, b"3")]);
    let response = exchange(server.addr, &request("/upload", &form_type(), &body)).await;
    let (status, text) = status_and_body(&response);
    assert_eq!(status, 413);
    assert!(text.contains("more than 2 fields") && text.contains("maximum_form_fields"), "{text}");
}

#[tokio::test]
async fn malformed_multipart_is_400_and_another_media_type_415() {
    let dir = UploadDir::new();
    let server = serve(&dir, |_| {});
    let body = multipart(&[("a", None, b"1")]);
    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        ("multipart/form-data", body.clone(), 400, "has no boundary"),
        ("text/plain", body.clone(), 415, "multipart/form-data"),
        // Cut before the closing boundary: the stream ends inside a part.
        (&form_type(), body[..body.len() - 20].to_vec(), 400, "multipart/form-data body is malformed"),
        // Not multipart at all.
        (&form_type(), b"just some text".to_vec(), 400, "multipart/form-data body is malformed"),
        (&form_type(), Vec::new(), 400, "multipart/form-data body is malformed"),
    ]
    .map(|(content_type, body, status, text)| (content_type.to_owned().leak() as &str, body, status, text));
    for (content_type, body, status, expected) in cases {
        let response = exchange(server.addr, &request("/upload", content_type, &body)).await;
        let (got, text) = status_and_body(&response);
        assert_eq!(got, status, "{content_type} {body:?}: {response}");
        assert!(text.contains(expected), "{content_type}: {text}");
    }
}

#[tokio::test]
async fn a_body_cut_off_mid_file_leaves_no_file() {
    let dir = UploadDir::new();
    let server = serve(&dir, |c| c.body_idle_timeout = Duration::from_millis(300));
    let body = multipart(&[("doc", Some("a.bin"), &[3u8; 50_000])]);
    let mut whole = request("/upload", &form_type(), &body);
    whole.truncate(whole.len() - 10_000);
    // The client stops sending in the middle of the file and waits: the read times out.
    let response = exchange(server.addr, &whole).await;
    assert_eq!(status_and_body(&response).0, 408, "{response}");
    assert_eq!(std::fs::read_dir(&**dir).unwrap().count(), 0, "no file, partial or whole, is left");
}

#[tokio::test]
async fn a_chunked_body_over_the_content_limit_is_413() {
    let dir = UploadDir::new();
    let server = serve(&dir, |c| c.maximum_content_length = 20_000);
    let body = multipart(&[("doc", Some("a.bin"), &[5u8; 30_000])]);
    let mut request = format!(
        "POST /upload HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        form_type()
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = exchange(server.addr, &request).await;
    let (status, text) = status_and_body(&response);
    assert_eq!(status, 413, "{response}");
    assert!(text.contains("maximum_content_length"), "{text}");
    assert_eq!(std::fs::read_dir(&**dir).unwrap().count(), 0, "no file, partial or whole, is left");
}

/// Pieces a hostile or broken client would put in a multipart body: boundaries whole and cut, headers
/// whole and cut, line breaks of every kind, and any bytes.
fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(format!("--{BOUNDARY}\r\n").into_bytes()),
        Just(format!("--{BOUNDARY}--\r\n").into_bytes()),
        Just(format!("\r\n--{BOUNDARY}").into_bytes()),
        Just(b"Content-Disposition: form-data; name=\"a\"\r\n\r\n".to_vec()),
        Just(b"Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n".to_vec()),
        Just(b"Content-Disposition: form-data\r\n".to_vec()),
        Just(b"Content-Type: text/plain\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"--".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// Whatever the body holds, the server answers 200 or a 4xx that says why: never a 500, never a hang.
#[test]
fn any_multipart_body_is_answered_never_with_a_500() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let dir = UploadDir::new();
    let server = serve(&dir, |c| {
        c.maximum_form_fields = 4;
        c.maximum_form_field_size = 64;
        c.maximum_file_size = 64;
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&hostile_body(), |body| {
            let response = runtime.block_on(exchange(server.addr, &request("/upload", &form_type(), &body)));
            let (status, text) = status_and_body(&response);
            prop_assert!(matches!(status, 200 | 400 | 413), "{status} for {body:?}: {text}");
            prop_assert!(status == 200 || !text.is_empty(), "a refusal says why");
            // Files saved whole before a later part failed stay, as they should: start each case afresh.
            for entry in std::fs::read_dir(&**dir).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
            Ok(())
        })
        .unwrap();
}
