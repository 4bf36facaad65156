//! The file server over real sockets: files, indexes, redirects, listings, validators, ranges, `HEAD`,
//! and, on raw sockets so no client normalises the path first, every way a request could try to read
//! outside the root. Each test makes its own directory under the system's temporary one.

use std::path::{Path, PathBuf};

use sisk::http::file_system::{HttpFileServer, HttpFileServerHandler};
use sisk::prelude::*;
mod support;
use support::{exchange, TestServer};

const SECRET: &str = "TOP-SECRET-CONTENT";

/// A directory tree for one test, removed when dropped:
/// `outside/secret.txt`, and `root/` with `index.html`, `a.txt` (`0123456789`), `sub/b.txt`,
/// `empty/`, `nested/index.html`, and `link-out` → `outside/secret.txt`, `dir-out` → `outside/`.
struct Tree {
    base: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let base = std::env::temp_dir().join(format!("sisk-files-{}-{}", std::process::id(), support::unique()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::create_dir_all(root.join("nested")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(base.join("outside/secret.txt"), SECRET).unwrap();
        std::fs::write(base.join("secret.txt"), SECRET).unwrap();
        std::fs::write(root.join("index.html"), "<h1>home</h1>").unwrap();
        std::fs::write(root.join("a.txt"), "0123456789").unwrap();
        std::fs::write(root.join("sub/b.txt"), "bee").unwrap();
        std::fs::write(root.join("sub/<i>.txt"), "markup").unwrap();
        std::fs::write(root.join("nested/index.html"), "nested home").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("outside/secret.txt"), root.join("link-out")).unwrap();
            std::os::unix::fs::symlink(base.join("outside"), root.join("dir-out")).unwrap();
            std::os::unix::fs::symlink(root.join("a.txt"), root.join("link-in")).unwrap();
        }
        Tree { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("root")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn serve(root: &Path, configure: impl FnOnce(&mut HttpFileServerHandler)) -> TestServer {
    let mut handler = HttpFileServerHandler::new(root);
    configure(&mut handler);
    let mut r = Router::new();
    r.map_file_system("/", handler);
    TestServer::with(r, |_| {})
}

/// Sends a GET (or `method`) for `target` with `headers`, exactly as written, and returns the answer.
async fn raw(server: &TestServer, method: &str, target: &str, headers: &str) -> String {
    let request = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n");
    exchange(server.addr, request.as_bytes()).await
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

#[tokio::test]
async fn a_file_is_served_with_its_type_length_and_validators() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let answer = raw(&server, "GET", "/a.txt", "").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(body(&answer), "0123456789");
    assert_eq!(header(&answer, "content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(header(&answer, "content-length"), Some("10"));
    assert_eq!(header(&answer, "accept-ranges"), Some("bytes"));
    assert!(header(&answer, "etag").is_some_and(|tag| tag.starts_with("\"a-")), "{answer}");
    assert!(header(&answer, "last-modified").is_some_and(|date| date.ends_with("GMT")), "{answer}");

    let answer = raw(&server, "GET", "/sub/b.txt", "").await;
    assert_eq!(body(&answer), "bee");
    let answer = raw(&server, "GET", "/missing.txt", "").await;
    assert_eq!(status(&answer), 404, "{answer}");
    let answer = raw(&server, "POST", "/a.txt", "Content-Length: 0\r\n").await;
    assert_eq!(status(&answer), 405, "{answer}");
}

#[tokio::test]
async fn head_gets_the_headers_and_no_body() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let answer = raw(&server, "HEAD", "/a.txt", "").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(header(&answer, "content-length"), Some("10"));
    assert!(header(&answer, "etag").is_some());
    assert_eq!(body(&answer), "");
}

#[tokio::test]
async fn a_large_file_comes_whole_in_many_chunks() {
    let tree = Tree::new();
    let big: Vec<u8> = (0..1_000_003u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(tree.root().join("big.bin"), &big).unwrap();
    let server = serve(&tree.root(), |handler| handler.buffer_size = 4096);
    let response = reqwest::get(server.url("/big.bin")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.bytes().await.unwrap(), big);
}

#[tokio::test]
async fn directories_redirect_to_their_slash_then_serve_their_index() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    assert_eq!(body(&raw(&server, "GET", "/", "").await), "<h1>home</h1>");
    let answer = raw(&server, "GET", "/nested?x=1", "").await;
    assert_eq!(status(&answer), 301, "{answer}");
    assert_eq!(header(&answer, "location"), Some("/nested/?x=1"));
    assert_eq!(body(&raw(&server, "GET", "/nested/", "").await), "nested home");
    // Never a redirect to another host: the location is rebuilt from the path's segments.
    let answer = raw(&server, "GET", "//nested", "").await;
    assert_eq!(header(&answer, "location"), Some("/nested/"), "{answer}");
    // No index and listings off.
    assert_eq!(status(&raw(&server, "GET", "/empty/", "").await), 403);
}

#[tokio::test]
async fn a_listing_is_off_by_default_and_escapes_names_when_on() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    assert_eq!(status(&raw(&server, "GET", "/sub/", "").await), 403);

    let server = serve(&tree.root(), |handler| handler.allow_directory_listing = true);
    let answer = raw(&server, "GET", "/sub/", "").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(header(&answer, "content-type"), Some("text/html; charset=utf-8"));
    let page = body(&answer);
    assert!(page.contains("<a href=\"b.txt\">b.txt</a>"), "{page}");
    assert!(page.contains("<a href=\"%3Ci%3E.txt\">&lt;i&gt;.txt</a>"), "{page}");
    assert!(!page.contains("<i>"), "{page}");
    assert!(page.contains("<a href=\"../\">"), "{page}");
}

#[tokio::test]
async fn hidden_files_are_neither_served_nor_listed_unless_asked() {
    let tree = Tree::new();
    std::fs::write(tree.root().join(".env"), SECRET).unwrap();
    std::fs::create_dir_all(tree.root().join(".git")).unwrap();
    std::fs::write(tree.root().join(".git/config"), SECRET).unwrap();
    let server = serve(&tree.root(), |handler| handler.allow_directory_listing = true);
    for target in ["/.env", "/%2eenv", "/.git/config", "/.git/", "/sub/../.env"] {
        let answer = raw(&server, "GET", target, "").await;
        assert!(matches!(status(&answer), 400 | 404), "{target}: {answer}");
        assert!(!answer.contains(SECRET), "{target}");
    }
    assert_eq!(status(&raw(&server, "GET", "/.env", "").await), 404, "as if it were not there");
    std::fs::write(tree.root().join("sub/.hidden"), SECRET).unwrap();
    let listing = raw(&server, "GET", "/sub/", "").await;
    assert!(listing.contains("b.txt") && !listing.contains(".hidden"), "{listing}");

    let server = serve(&tree.root(), |handler| handler.serve_hidden_files = true);
    assert_eq!(body(&raw(&server, "GET", "/.env", "").await), SECRET, "served when asked");
}

#[tokio::test]
async fn a_current_copy_is_answered_304() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let first = raw(&server, "GET", "/a.txt", "").await;
    let etag = header(&first, "etag").unwrap().to_owned();
    let date = header(&first, "last-modified").unwrap().to_owned();

    let answer = raw(&server, "GET", "/a.txt", &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!(status(&answer), 304, "{answer}");
    assert_eq!(header(&answer, "etag"), Some(etag.as_str()));
    assert_eq!(body(&answer), "");
    let answer = raw(&server, "GET", "/a.txt", &format!("If-Modified-Since: {date}\r\n")).await;
    assert_eq!(status(&answer), 304, "{answer}");
    let answer = raw(&server, "GET", "/a.txt", "If-Match: \"another-version\"\r\n").await;
    assert_eq!((status(&answer), body(&answer)), (412, ""), "{answer}");
    let answer = raw(&server, "GET", "/a.txt", &format!("If-Match: {etag}\r\n")).await;
    assert_eq!(body(&answer), "0123456789");
    let answer = raw(&server, "GET", "/a.txt", "If-None-Match: \"stale\"\r\n").await;
    assert_eq!(status(&answer), 200, "{answer}");
    let answer = raw(&server, "GET", "/a.txt", "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n").await;
    assert_eq!(status(&answer), 200, "{answer}");
}

#[tokio::test]
async fn ranges_are_served_206_refused_416_or_answered_whole() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let answer = raw(&server, "GET", "/a.txt", "Range: bytes=2-4\r\n").await;
    assert_eq!(status(&answer), 206, "{answer}");
    assert_eq!(header(&answer, "content-range"), Some("bytes 2-4/10"));
    assert_eq!(header(&answer, "content-length"), Some("3"));
    assert_eq!(body(&answer), "234");
    assert_eq!(body(&raw(&server, "GET", "/a.txt", "Range: bytes=-3\r\n").await), "789");
    assert_eq!(body(&raw(&server, "GET", "/a.txt", "Range: bytes=7-\r\n").await), "789");

    let answer = raw(&server, "GET", "/a.txt", "Range: bytes=10-\r\n").await;
    assert_eq!(status(&answer), 416, "{answer}");
    assert_eq!(header(&answer, "content-range"), Some("bytes */10"));

    // Several ranges: the whole file, as RFC 9110 allows.
    let answer = raw(&server, "GET", "/a.txt", "Range: bytes=0-1,4-5\r\n").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(body(&answer), "0123456789");
    // HEAD ignores Range.
    let answer = raw(&server, "HEAD", "/a.txt", "Range: bytes=2-4\r\n").await;
    assert_eq!(status(&answer), 200, "{answer}");
}

#[tokio::test]
async fn if_range_honours_a_range_only_for_the_same_version() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let first = raw(&server, "GET", "/a.txt", "").await;
    let etag = header(&first, "etag").unwrap().to_owned();
    let date = header(&first, "last-modified").unwrap().to_owned();
    let server = &server;
    let ranged = |if_range: String| async move {
        raw(server, "GET", "/a.txt", &format!("Range: bytes=0-1\r\nIf-Range: {if_range}\r\n")).await
    };
    assert_eq!(status(&ranged(etag.clone()).await), 206);
    assert_eq!(status(&ranged(date).await), 206);
    assert_eq!(status(&ranged("\"older\"".to_owned()).await), 200);
    assert_eq!(status(&ranged(format!("W/{etag}")).await), 200);
    assert_eq!(status(&ranged("Mon, 01 Jan 2001 00:00:00 GMT".to_owned()).await), 200);
}

/// Every request target here tries to read `secret.txt` beside the root or `outside/secret.txt`; none
/// may, and none may crash the server.
#[tokio::test]
async fn no_request_reads_outside_the_root() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |handler| handler.allow_directory_listing = true);
    // A segment that could leave its directory is 400, a link out of the root 403, the rest not found.
    let targets = [
        ("/../secret.txt", 400),
        ("/sub/../../secret.txt", 400),
        ("/%2e%2e/secret.txt", 400),
        ("/%2E%2E/%2e%2e/secret.txt", 400),
        ("/sub/%2e%2e/%2e%2e/secret.txt", 400),
        ("/..%2fsecret.txt", 400),
        ("/sub/..%2F..%2Fsecret.txt", 400),
        ("/..%5csecret.txt", 400),
        ("/sub/..%5C..%5Csecret.txt", 400),
        ("/..\\secret.txt", 400),
        ("/a.txt%00.html", 400),
        ("/%00../secret.txt", 400),
        ("//etc/passwd", 404),
        ("/%2fetc%2fpasswd", 400),
        ("/C:/Windows/win.ini", 400),
        ("/c%3a%5cwindows%5cwin.ini", 400),
        ("/link-out", 403),
        ("/dir-out/secret.txt", 403),
        ("/dir-out/", 403),
        ("/./../secret.txt", 400),
        ("/%252e%252e/secret.txt", 404),
        ("http://t/../secret.txt", 400),
    ];
    for (target, expected) in targets {
        let answer = raw(&server, "GET", target, "").await;
        assert!(!answer.contains(SECRET), "{target} read the secret: {answer}");
        assert_eq!(status(&answer), expected, "{target}: {answer}");
    }
    // A link that stays inside the root is served, and the server still answers.
    assert_eq!(body(&raw(&server, "GET", "/link-in", "").await), "0123456789");
}

#[tokio::test]
async fn a_serving_route_serves_below_its_prefix() {
    let tree = Tree::new();
    let mut r = Router::new();
    r += HttpFileServer::create_serving_route("/static", tree.root());
    r.map_file_system("/assets/", HttpFileServerHandler::new(tree.root()));
    let server = TestServer::with(r, |_| {});
    assert_eq!(body(&raw(&server, "GET", "/static/a.txt", "").await), "0123456789");
    assert_eq!(body(&raw(&server, "GET", "/static/sub/b.txt", "").await), "bee");
    assert_eq!(body(&raw(&server, "GET", "/assets/", "").await), "<h1>home</h1>");
    assert_eq!(header(&raw(&server, "GET", "/assets", "").await, "location"), Some("/assets/"));
    assert_eq!(body(&raw(&server, "GET", "/assets/sub/b.txt", "").await), "bee");
    assert_eq!(status(&raw(&server, "GET", "/static/../secret.txt", "").await), 400);
}

#[tokio::test]
async fn files_and_ranges_are_served_over_http2() {
    let tree = Tree::new();
    let server = serve(&tree.root(), |_| {});
    let client = reqwest::Client::builder().http2_prior_knowledge().timeout(support::LIMIT).build().unwrap();
    let response = client.get(server.url("/a.txt")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["content-length"], "10");
    assert_eq!(response.text().await.unwrap(), "0123456789");
    let part = client.get(server.url("/a.txt")).header("Range", "bytes=3-5").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.unwrap(), "345");
    let head = client.head(server.url("/a.txt")).send().await.unwrap();
    assert_eq!(head.headers()["content-length"], "10");
    assert_eq!(head.bytes().await.unwrap().len(), 0);
}
