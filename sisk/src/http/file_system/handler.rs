//! [`HttpFileServerHandler`]: answers a request with a file, a directory's index or listing, from under
//! one root directory.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use http::header::{HeaderValue, ACCEPT_RANGES, ALLOW, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use http::{Method, StatusCode};
use tokio::io::AsyncSeekExt;

use super::conditional::Validators;
use super::content_type::content_type_for;
use super::listing;
use super::range::{parse_range, RangeRequest};
use super::resolve::{canonical_root, relative_segments, resolve, Refusal, Resolved};
use crate::http::response::READ_CHUNK;
use crate::http::{HttpContent, HttpRequest, HttpResponse};

/// Serves the files under a directory (Sisk's `HttpFileServerHandler`).
///
/// A request's path, less [`route_prefix`](Self::route_prefix), names a file under
/// [`root_directory_path`](Self::root_directory_path); no request can reach outside it (see
/// [`file_system`](crate::http::file_system)). A file is streamed, never read whole, with its
/// `Content-Type` (from its extension), `Content-Length`, `ETag`, `Last-Modified` and
/// `Accept-Ranges: bytes`; `If-Match` / `If-Unmodified-Since` for another version answer `412`,
/// `If-None-Match` / `If-Modified-Since` answer `304`, a single `Range` `206`
/// (or `416`), `If-Range` is honoured, and `HEAD` gets the headers alone.
///
/// A directory asked without its trailing slash is redirected (`301`) to the path with one, so the
/// relative links of its page resolve; with it, the first of [`index_files`](Self::index_files) found
/// is served, else a listing when [`allow_directory_listing`](Self::allow_directory_listing) is on, else
/// `403`. A missing file is `404`, a path that tries to leave its directory `400`. Hidden files and
/// directories — a name starting with `.`, such as `.git` or `.env` — are not served (`404`) nor listed
/// unless [`serve_hidden_files`](Self::serve_hidden_files) is on.
///
/// ```
/// use sisk::prelude::*;
/// use sisk::http::file_system::HttpFileServerHandler;
///
/// let mut file_handler = HttpFileServerHandler::new("/var/www/html");
///
/// // enable directory listing (disabled by default)
/// file_handler.allow_directory_listing = true;
///
/// // set a custom route prefix (this will be trimmed from the request path)
/// file_handler.route_prefix = "/public".into();
///
/// let mut main_router = Router::new();
/// main_router.map_file_system("/public", file_handler);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpFileServerHandler {
    /// The directory files are served from, absolute or relative to the working directory.
    pub root_directory_path: PathBuf,
    /// The route prefix trimmed from the request path to find the file (default `/`).
    pub route_prefix: String,
    /// List a directory that has no index file (default `false`: such a directory is `403`).
    pub allow_directory_listing: bool,
    /// The files served for a directory, the first found wins (default `index.html`).
    pub index_files: Vec<String>,
    /// The most entries a directory listing shows (default 1,000); a note tells how many more there are.
    pub directory_listing_limit: usize,
    /// Serve and list names that start with `.` (default `false`: `.git`, `.env` and the like answer
    /// `404`, as if they were not there).
    pub serve_hidden_files: bool,
    /// The size of the chunks a file is read in (default 64 KiB): the memory one
    /// response holds at a time, whatever the size of the file.
    pub buffer_size: usize,
}

impl HttpFileServerHandler {
    /// A handler serving `root_directory_path` with the defaults.
    pub fn new(root_directory_path: impl Into<PathBuf>) -> Self {
        HttpFileServerHandler {
            root_directory_path: root_directory_path.into(),
            route_prefix: "/".to_owned(),
            allow_directory_listing: false,
            index_files: vec!["index.html".to_owned()],
            directory_listing_limit: 1000,
            serve_hidden_files: false,
            buffer_size: READ_CHUNK,
        }
    }

    /// Answers `request` (`GET` or `HEAD`; other methods are `405`).
    pub async fn handle_request(&self, request: HttpRequest) -> HttpResponse {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return HttpResponse::from_status(StatusCode::METHOD_NOT_ALLOWED).with_header(ALLOW, "GET, HEAD");
        }
        let raw_path = request.path();
        let answer = async {
            let segments = relative_segments(raw_path, &self.route_prefix)?;
            if !self.serve_hidden_files && segments.iter().any(|segment| segment.starts_with('.')) {
                return Err(Refusal::NotFound);
            }
            let root = canonical_root(&self.root_directory_path).await?;
            match resolve(&root, &segments).await? {
                Resolved::File(path) => self.serve_file(&request, &path).await,
                Resolved::Directory(path) => self.serve_directory(&request, &root, &segments, &path).await,
            }
        };
        answer.await.unwrap_or_else(|refusal| refused(refusal, raw_path))
    }

    async fn serve_directory(
        &self,
        request: &HttpRequest,
        root: &Path,
        segments: &[String],
        directory: &Path,
    ) -> Result<HttpResponse, Refusal> {
        if !request.path().ends_with('/') {
            return Ok(redirect_to_slash(request));
        }
        for index in &self.index_files {
            let mut with_index = segments.to_vec();
            with_index.push(index.clone());
            if let Ok(Resolved::File(path)) = resolve(root, &with_index).await {
                return self.serve_file(request, &path).await;
            }
        }
        if !self.allow_directory_listing {
            return Err(Refusal::Forbidden);
        }
        let shown = percent_encoding::percent_decode_str(request.path()).decode_utf8_lossy();
        let page = listing::render(directory, &shown, self.directory_listing_limit, self.serve_hidden_files)
            .await
            .map_err(Refusal::Io)?;
        Ok(HttpResponse::new().with_content(HttpContent::html(page)))
    }

    async fn serve_file(&self, request: &HttpRequest, path: &Path) -> Result<HttpResponse, Refusal> {
        let mut file = tokio::fs::File::open(path).await.map_err(Refusal::Io)?;
        let metadata = file.metadata().await.map_err(Refusal::Io)?;
        let length = metadata.len();
        let validators = Validators::new(length, metadata.modified().ok());
        let mut response = HttpResponse::new();
        validators.write(&mut response.headers);
        response.headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if validators.precondition_failed(request.headers()) {
            return Ok(response.with_status(StatusCode::PRECONDITION_FAILED));
        }
        if validators.not_modified(request.headers()) {
            return Ok(response.with_status(StatusCode::NOT_MODIFIED));
        }
        response.headers.insert(CONTENT_TYPE, content_type_for(path));
        // Range is defined for GET only (RFC 9110 §14.2); HEAD describes the whole file.
        let range = match request.headers().get(RANGE).and_then(|v| v.to_str().ok()) {
            Some(value) if request.method() == Method::GET && validators.range_applies(request.headers()) => {
                parse_range(value, length)
            }
            _ => RangeRequest::Whole,
        };
        let chunk = self.buffer_size.max(1);
        Ok(match range {
            RangeRequest::Whole => response.with_reader_part(file, length, chunk),
            RangeRequest::Part { start, end } => {
                file.seek(SeekFrom::Start(start)).await.map_err(Refusal::Io)?;
                let content_range = format!("bytes {start}-{end}/{length}");
                response
                    .with_status(StatusCode::PARTIAL_CONTENT)
                    .with_header(CONTENT_RANGE, content_range)
                    .with_reader_part(file, end - start + 1, chunk)
            }
            RangeRequest::Unsatisfiable => {
                response.headers.remove(CONTENT_TYPE);
                response
                    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .with_header(CONTENT_RANGE, format!("bytes */{length}"))
            }
        })
    }
}

impl From<PathBuf> for HttpFileServerHandler {
    fn from(root_directory_path: PathBuf) -> Self {
        HttpFileServerHandler::new(root_directory_path)
    }
}

impl From<&Path> for HttpFileServerHandler {
    fn from(root_directory_path: &Path) -> Self {
        HttpFileServerHandler::new(root_directory_path)
    }
}

impl From<&str> for HttpFileServerHandler {
    fn from(root_directory_path: &str) -> Self {
        HttpFileServerHandler::new(root_directory_path)
    }
}

impl From<String> for HttpFileServerHandler {
    fn from(root_directory_path: String) -> Self {
        HttpFileServerHandler::new(root_directory_path)
    }
}

/// `301` to the request's path with a trailing slash. The location is the path normalised as the router
/// does (empty segments dropped), so `//evil.example/dir` can never become a redirect to another host.
/// (Only a path without its trailing slash comes here, so never `/` alone.)
fn redirect_to_slash(request: &HttpRequest) -> HttpResponse {
    let mut location = sisk_route_syntax::normalize_request_path(request.path()).into_owned();
    location.push('/');
    if let Some(query) = request.uri().query() {
        location.push('?');
        location.push_str(query);
    }
    match HeaderValue::from_str(&location) {
        Ok(location) => HttpResponse::from_status(StatusCode::MOVED_PERMANENTLY).with_header(LOCATION, location),
        Err(_) => HttpResponse::from_status(StatusCode::NOT_FOUND),
    }
}

/// The answer to a request that is not served.
fn refused(refusal: Refusal, raw_path: &str) -> HttpResponse {
    let status = match refusal {
        Refusal::BadPath => StatusCode::BAD_REQUEST,
        Refusal::NotFound => StatusCode::NOT_FOUND,
        Refusal::Forbidden => StatusCode::FORBIDDEN,
        Refusal::Io(err) => {
            tracing::error!(path = %raw_path, error = %err, "the file server could not read a file");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    HttpResponse::from_status(status)
}
