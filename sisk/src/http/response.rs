//! [`HttpResponse`]: status, headers, content and cookies of an answer, built fluently. The content is
//! fixed bytes, or a streamed body (a `Stream` of bytes, an `AsyncRead`, a file) read as the client takes it.

use std::path::Path;

use bytes::Bytes;
use futures_util::Stream;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::ReaderStream;

use crate::http::body::{BoxError, ResponseBody};
use crate::http::file_system::content_type_for;
use crate::http::Cookie;
use crate::Error;

/// The content of a response: bytes and the media type that describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpContent {
    bytes: Bytes,
    content_type: Option<HeaderValue>,
}

impl HttpContent {
    /// UTF-8 text, sent as `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::with_type(text.into(), "text/plain; charset=utf-8")
    }

    /// An HTML document, sent as `text/html; charset=utf-8`.
    pub fn html(html: impl Into<String>) -> Self {
        Self::with_type(html.into(), "text/html; charset=utf-8")
    }

    /// A JSON document you serialised yourself, sent as `application/json`.
    pub fn json(json: impl Into<String>) -> Self {
        Self::with_type(json.into(), "application/json")
    }

    /// Raw bytes, sent as `application/octet-stream`.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        Self::with_type(bytes.into(), "application/octet-stream")
    }

    fn with_type(bytes: impl Into<Bytes>, content_type: &'static str) -> Self {
        HttpContent { bytes: bytes.into(), content_type: Some(HeaderValue::from_static(content_type)) }
    }

    /// The bytes of the content.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<&str> for HttpContent {
    fn from(text: &str) -> Self {
        HttpContent::text(text)
    }
}

impl From<String> for HttpContent {
    fn from(text: String) -> Self {
        HttpContent::text(text)
    }
}

impl From<Vec<u8>> for HttpContent {
    fn from(bytes: Vec<u8>) -> Self {
        HttpContent::bytes(bytes)
    }
}

impl From<Bytes> for HttpContent {
    fn from(bytes: Bytes) -> Self {
        HttpContent::bytes(bytes)
    }
}

/// An HTTP response.
///
/// Build it fluently with `with_*` or change it in place. `Content-Length` is always computed from the
/// content; a response to `HEAD` keeps its headers and leaves the body out.
///
/// ```
/// use sisk::prelude::*;
/// use sisk::http::Cookie;
///
/// let res = HttpResponse::new()
///     .with_status(StatusCode::CREATED)
///     .with_header("X-Request-Kind", "demo")
///     .with_cookie(Cookie::build(("session", "abc")).path("/").http_only(true))
///     .with_content("created");
/// assert_eq!(res.status, StatusCode::CREATED);
/// assert_eq!(res.headers["x-request-kind"], "demo");
/// ```
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code (200 unless changed).
    pub status: StatusCode,
    /// The headers. `Content-Type` comes from the content unless set here.
    pub headers: HeaderMap,
    pub(crate) body: ResponseBody,
    /// The error this response answers, for the router's callback error handler (never sent).
    pub(crate) failure: Option<Box<crate::Error>>,
}

impl Default for HttpResponse {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpResponse {
    /// An empty `200 OK` response.
    pub fn new() -> Self {
        HttpResponse { status: StatusCode::OK, headers: HeaderMap::new(), body: ResponseBody::empty(), failure: None }
    }

    /// A response with this status and no content (the builder that changes a response's status is
    /// [`with_status`](Self::with_status)).
    #[doc(alias = "with_status_code")]
    pub fn from_status(status: StatusCode) -> Self {
        Self::new().with_status(status)
    }

    /// Sets the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header (keeping others of the same name).
    ///
    /// # Panics
    /// When the name or value is not a valid header (for example a value with CR or LF). Use
    /// [`HttpResponse::append_header`] to get an [`Error`] instead; a panic in a handler becomes a 500.
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        if let Err(err) = self.append_header(name, value) {
            panic!("{err}");
        }
        self
    }

    /// Adds a header, keeping others of the same name (as `Set-Cookie` needs); the same name as the
    /// event source's and the response stream's.
    #[doc(alias = "add_header")]
    pub fn append_header<K, V>(&mut self, name: K, value: V) -> Result<&mut Self, Error>
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        let (name, value) = header_pair(name, value)?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Sets a header, replacing every other value of that name.
    pub fn set_header<K, V>(&mut self, name: K, value: V) -> Result<&mut Self, Error>
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        let (name, value) = header_pair(name, value)?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets the content; its media type becomes `Content-Type` unless that header is already set.
    pub fn with_content(mut self, content: impl Into<HttpContent>) -> Self {
        self.set_content(content);
        self
    }

    /// Sets the content in place.
    pub fn set_content(&mut self, content: impl Into<HttpContent>) {
        let content = content.into();
        if let Some(content_type) = content.content_type {
            self.headers.entry(CONTENT_TYPE).or_insert(content_type);
        }
        self.body = ResponseBody::full(content.bytes);
    }

    /// Streams the content from `stream`, each chunk sent as it comes (chunked over HTTP/1.1), pulled only
    /// as fast as the client reads. An error from the stream cuts the response. `Content-Type` is
    /// `application/octet-stream` unless set.
    ///
    /// ```
    /// use sisk::prelude::*;
    /// use sisk::http::Bytes;
    ///
    /// let parts = ["one ", "two ", "three"].map(|part| Ok::<_, std::io::Error>(Bytes::from_static(part.as_bytes())));
    /// let res = HttpResponse::new()
    ///     .with_header("Content-Type", "text/plain; charset=utf-8")
    ///     .with_stream(futures_util::stream::iter(parts));
    /// assert_eq!(res.content(), None); // not fixed content
    /// ```
    pub fn with_stream<S, E>(self, stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.with_streamed_body(ResponseBody::streamed(stream, None))
    }

    /// Streams the content from `reader` to its end, in chunks of 64 KiB, sent as they are
    /// read (chunked over HTTP/1.1).
    pub fn with_reader(self, reader: impl AsyncRead + Send + 'static) -> Self {
        self.with_stream(ReaderStream::with_capacity(reader, READ_CHUNK))
    }

    /// Streams exactly `length` bytes from `reader`, sent with `Content-Length: length`. A reader that
    /// ends sooner cuts the response.
    pub fn with_sized_reader(self, reader: impl AsyncRead + Send + 'static, length: u64) -> Self {
        self.with_reader_part(reader, length, READ_CHUNK)
    }

    /// Streams exactly `length` bytes from `reader`, read `chunk` bytes at a time.
    pub(crate) fn with_reader_part(self, reader: impl AsyncRead + Send + 'static, length: u64, chunk: usize) -> Self {
        let chunks = ReaderStream::with_capacity(reader.take(length), chunk);
        self.with_streamed_body(ResponseBody::streamed(chunks, Some(length)))
    }

    /// A `200` response that streams the file at `path` (Sisk's `StreamContent` over a file): its
    /// `Content-Type` is guessed from the extension, its `Content-Length` is the file's size, and it is
    /// read as the client takes it, never whole. A missing file is an error whose response is `404`;
    /// any other failure to open it is a `500` (the cause is logged).
    ///
    /// For conditional requests, ranges and directories, serve files with
    /// [`HttpFileServerHandler`](crate::http::file_system::HttpFileServerHandler).
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// async fn profile_picture(_req: HttpRequest) -> Result<HttpResponse, sisk::Error> {
    ///     let res = HttpResponse::from_file("profile-picture.jpg").await?
    ///         .with_header("Content-Disposition", "inline; filename=\"profile-picture.jpg\"");
    ///     Ok(res)
    /// }
    /// ```
    pub async fn from_file(path: impl AsRef<Path>) -> Result<HttpResponse, Error> {
        let path = path.as_ref();
        let opened = async {
            let file = tokio::fs::File::open(path).await?;
            let metadata = file.metadata().await?;
            Ok::<_, std::io::Error>((file, metadata))
        };
        let (file, metadata) = match opened.await {
            Ok((_, metadata)) if metadata.is_dir() => return Err(file_not_found()),
            Ok(opened) => opened,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(file_not_found()),
            Err(err) => return Err(Error::internal(err)),
        };
        Ok(HttpResponse::new()
            .with_header(CONTENT_TYPE, content_type_for(path))
            .with_sized_reader(file, metadata.len()))
    }

    fn with_streamed_body(mut self, body: ResponseBody) -> Self {
        self.headers.entry(CONTENT_TYPE).or_insert(HeaderValue::from_static("application/octet-stream"));
        self.body = body;
        self
    }

    /// Adds a `Set-Cookie` header.
    pub fn with_cookie<'c>(mut self, cookie: impl Into<Cookie<'c>>) -> Self {
        self.set_cookie(cookie);
        self
    }

    /// Adds a `Set-Cookie` header in place.
    pub fn set_cookie<'c>(&mut self, cookie: impl Into<Cookie<'c>>) {
        let cookie = cookie.into().encoded().to_string();
        // A cookie serialises to visible ASCII, so it is always a valid header value.
        if let Ok(value) = HeaderValue::try_from(cookie) {
            self.headers.append(SET_COOKIE, value);
        }
    }

    /// The content bytes, if the response has fixed content (not a stream).
    pub fn content(&self) -> Option<&[u8]> {
        self.body.as_full()
    }

    pub(crate) fn with_body(status: StatusCode, headers: HeaderMap, body: ResponseBody) -> Self {
        HttpResponse { status, headers, body, failure: None }
    }

    /// This response, as the answer to `error` (which the router's callback error handler may replace).
    pub(crate) fn answering(mut self, error: crate::Error) -> Self {
        self.failure = Some(Box::new(error));
        self
    }

    /// This response, answering no error.
    pub(crate) fn without_failure(mut self) -> Self {
        self.failure = None;
        self
    }

    /// The error this response answers, taken out of it.
    pub(crate) fn take_failure(&mut self) -> Option<crate::Error> {
        self.failure.take().map(|error| *error)
    }

    pub(crate) fn into_hyper(self) -> http::Response<ResponseBody> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// The size of the chunks read from an `AsyncRead` for a streamed body (64 KiB): one chunk at a time is in
/// memory per response, whatever the size of what is read.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A missing file, as the client sees it (the path is not told: it is the server's business).
fn file_not_found() -> Error {
    Error::with_status(StatusCode::NOT_FOUND, "file not found")
}

pub(crate) fn header_pair<K, V>(name: K, value: V) -> Result<(HeaderName, HeaderValue), Error>
where
    K: TryInto<HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<HeaderValue>,
    V::Error: std::fmt::Display,
{
    let name = name.try_into().map_err(|e| Error::invalid_header(format!("bad name: {e}")))?;
    let value = value
        .try_into()
        .map_err(|e| Error::invalid_header(format!("bad value for `{name}` (CR, LF and NUL are refused): {e}")))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_keeps_set_replaces() {
        let mut res = HttpResponse::new();
        res.append_header("x-a", "1").unwrap().append_header("x-a", "2").unwrap();
        assert_eq!(res.headers.get_all("x-a").iter().count(), 2);
        res.set_header("x-a", "3").unwrap();
        assert_eq!(res.headers.get_all("x-a").iter().collect::<Vec<_>>(), ["3"]);
    }

    #[test]
    fn header_injection_is_an_error() {
        let err = HttpResponse::new().append_header("x-a", "a\r\nSet-Cookie: x=1").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidHeader, "{err}");
    }

    #[test]
    fn content_sets_type_unless_present() {
        let res = HttpResponse::new().with_content("hi");
        assert_eq!(res.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(res.content(), Some(&b"hi"[..]));
        let res = HttpResponse::new().with_header("content-type", "text/csv").with_content("a,b");
        assert_eq!(res.headers[CONTENT_TYPE], "text/csv");
    }

    #[test]
    fn cookies_are_appended() {
        let res = HttpResponse::new()
            .with_cookie(Cookie::build(("a", "1")).path("/").http_only(true))
            .with_cookie(("b", "2"));
        let cookies: Vec<_> = res.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1; HttpOnly; Path=/", "b=2"]);
    }
}
