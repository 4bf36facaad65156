//! `req.get_multipart_form_content()`, with the `multipart` feature (on by default): a
//! `multipart/form-data` body read part by part as it arrives (on the `multer` crate), every part bounded,
//! a file streamed to a writer or saved to disk chunk by chunk under a temporary name, renamed only once
//! whole.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::http::HttpRequest;
use crate::Error;

/// The media type of a multipart form, as browsers send a `<form enctype="multipart/form-data">`.
const MULTIPART_FORM_DATA: &str = "multipart/form-data";

impl HttpRequest {
    /// Starts reading the body as a multipart form (Sisk's `GetMultipartFormContent`): the parts come one
    /// by one from [`MultipartForm::next_object`] while the body arrives, so a large file never needs to
    /// fit in memory.
    ///
    /// Every limit of the configuration holds, each refused with its response and a message that names
    /// the setting to raise: the whole body
    /// ([`maximum_content_length`](crate::http::HttpServerConfiguration::maximum_content_length), `413`),
    /// the number of parts ([`maximum_form_fields`](crate::http::HttpServerConfiguration::maximum_form_fields),
    /// `413`), a text field
    /// ([`maximum_form_field_size`](crate::http::HttpServerConfiguration::maximum_form_field_size), `413`)
    /// and a file ([`maximum_file_size`](crate::http::HttpServerConfiguration::maximum_file_size), `413`).
    /// A `Content-Type` other than `multipart/form-data` is `415`; one without a boundary, and a body that
    /// is malformed or cut short, are `400`. A body not yet read is consumed as it streams:
    /// `body_bytes` fails afterwards (a body already read by `body_bytes` is parsed from what it kept).
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// async fn upload(req: HttpRequest) -> Result<String, sisk::Error> {
    ///     let mut form = req.get_multipart_form_content()?;
    ///     let mut report = Vec::new();
    ///     while let Some(object) = form.next_object().await? {
    ///         let name = object.name().to_owned();
    ///         match object.filename().map(str::to_owned) {
    ///             // A file: onto the disk chunk by chunk, removed if anything fails on the way.
    ///             Some(filename) => {
    ///                 let size = object.save_to(std::env::temp_dir().join("upload.bin")).await?;
    ///                 report.push(format!("{name}: {filename}, {size} bytes"));
    ///             }
    ///             None => report.push(format!("{name} = {}", object.text().await?)),
    ///         }
    ///     }
    ///     Ok(report.join("\n"))
    /// }
    /// ```
    pub fn get_multipart_form_content(&self) -> Result<MultipartForm, Error> {
        self.require_media_type(MULTIPART_FORM_DATA, |media_type| media_type == MULTIPART_FORM_DATA)?;
        let boundary = multer::parse_boundary(self.header("content-type").unwrap_or_default())
            .map_err(|_| Error::invalid_multipart("its Content-Type has no boundary parameter"))?;
        let body = self.body_stream("get_multipart_form_content")?;
        let config = self.server().configuration();
        Ok(MultipartForm {
            parts: multer::Multipart::new(body, boundary),
            read: 0,
            maximum_parts: config.maximum_form_fields,
            maximum_field_size: config.maximum_form_field_size,
            maximum_file_size: config.maximum_file_size,
        })
    }
}

/// A multipart form being read: its parts ([`MultipartObject`]) come one at a time, in order, from
/// [`next_object`](Self::next_object). Made by
/// [`get_multipart_form_content`](HttpRequest::get_multipart_form_content).
pub struct MultipartForm {
    parts: multer::Multipart<'static>,
    read: usize,
    maximum_parts: usize,
    maximum_field_size: u64,
    maximum_file_size: u64,
}

impl std::fmt::Debug for MultipartForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartForm").field("read", &self.read).field("maximum_parts", &self.maximum_parts).finish()
    }
}

impl MultipartForm {
    /// The next part, or `None` after the last. Whatever is left unread of the previous part is skipped
    /// (and still counted against the body's limit). A part past
    /// [`maximum_form_fields`](crate::http::HttpServerConfiguration::maximum_form_fields) is an error.
    pub async fn next_object(&mut self) -> Result<Option<MultipartObject>, Error> {
        let Some(field) = self.parts.next_field().await.map_err(from_multer)? else {
            return Ok(None);
        };
        if self.maximum_parts > 0 && self.read >= self.maximum_parts {
            return Err(Error::too_many_form_fields(self.maximum_parts));
        }
        self.read += 1;
        let (limit, setting) = match field.file_name() {
            Some(_) => (self.maximum_file_size, "maximum_file_size"),
            None => (self.maximum_field_size, "maximum_form_field_size"),
        };
        Ok(Some(MultipartObject { field, read: 0, limit, setting }))
    }
}

/// One part of a multipart form (Sisk's `MultipartObject`): a text field, or a file when it has a file
/// name. Its content is read once, by one of [`bytes`](Self::bytes), [`text`](Self::text),
/// [`copy_to`](Self::copy_to), [`save_to`](Self::save_to), or chunk by chunk with
/// [`chunk`](Self::chunk); past its limit (a file's, or a field's) reading fails with `413`.
pub struct MultipartObject {
    field: multer::Field<'static>,
    read: u64,
    /// `0`: no limit of its own.
    limit: u64,
    setting: &'static str,
}

impl std::fmt::Debug for MultipartObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartObject")
            .field("name", &self.name())
            .field("filename", &self.filename())
            .field("content_type", &self.content_type())
            .field("read", &self.read)
            .finish()
    }
}

impl MultipartObject {
    /// The field's name (`name=` of its `Content-Disposition`; empty if it has none).
    pub fn name(&self) -> &str {
        self.field.name().unwrap_or_default()
    }

    /// The file's name as the client gave it (`filename=`), or `None` for a field that is not a file.
    /// Never use it as a path: it is whatever the client wrote (`../../etc/passwd` included).
    pub fn filename(&self) -> Option<&str> {
        self.field.file_name()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.field.content_type().map(|mime| mime.as_ref())
    }

    /// True for a file (a part with a file name).
    pub fn is_file(&self) -> bool {
        self.filename().is_some()
    }

    /// The part's own headers.
    pub fn headers(&self) -> &HeaderMap {
        self.field.headers()
    }

    /// How many bytes of the content were read so far.
    pub fn read_length(&self) -> u64 {
        self.read
    }

    /// The next chunk of the content, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let Some(chunk) = self.field.chunk().await.map_err(from_multer)? else {
            return Ok(None);
        };
        self.read += chunk.len() as u64;
        if self.limit > 0 && self.read > self.limit {
            let what = if self.is_file() { "file" } else { "field" };
            return Err(Error::form_limit_exceeded(
                format!("the {what} `{}` is larger than {} bytes", self.name(), self.limit),
                self.setting,
            ));
        }
        Ok(Some(chunk))
    }

    /// The whole content, in memory (at most the part's limit).
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let mut content = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            content.extend_from_slice(&chunk);
        }
        Ok(content.freeze())
    }

    /// The whole content as text (invalid UTF-8 becomes U+FFFD).
    pub async fn text(self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.bytes().await?).into_owned())
    }

    /// Writes the content to `writer` chunk by chunk, and returns its length. On an error, what was
    /// written stays written: [`save_to`](Self::save_to) removes its file.
    pub async fn copy_to<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> Result<u64, Error> {
        let mut written = 0;
        while let Some(chunk) = self.chunk().await? {
            writer.write_all(&chunk).await.map_err(|err| Error::io("cannot write an uploaded part", err))?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(|err| Error::io("cannot write an uploaded part", err))?;
        Ok(written)
    }

    /// Saves the content to a file at `path`, chunk by chunk, and returns its length. The content is
    /// written beside it under a temporary name and renamed to `path` only once complete, so `path`
    /// never holds a partial upload, and a file already there is replaced only by a whole one. If
    /// anything fails — a limit, a client that leaves, the disk — or the handler is dropped meanwhile,
    /// the temporary file is removed.
    pub async fn save_to(mut self, path: impl AsRef<Path>) -> Result<u64, Error> {
        let path = path.as_ref();
        let partial = PartialFile::beside(path);
        let mut file = tokio::fs::File::create(partial.path())
            .await
            .map_err(|err| Error::io(&format!("cannot create a file beside {}", path.display()), err))?;
        let written = self.copy_to(&mut file).await?;
        file.sync_all().await.map_err(|err| Error::io(&format!("cannot write {}", path.display()), err))?;
        drop(file);
        tokio::fs::rename(partial.path(), path)
            .await
            .map_err(|err| Error::io(&format!("cannot write {}", path.display()), err))?;
        partial.keep();
        Ok(written)
    }
}

/// A file being written under a temporary name, removed when dropped unless [`keep`](PartialFile::keep)
/// was called (after it was renamed to its final name).
struct PartialFile(Option<PathBuf>);

impl PartialFile {
    /// A temporary name in the directory of `path`, so the final rename stays on one file system.
    fn beside(path: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = path.file_name().map_or_else(|| "upload".into(), |name| name.to_string_lossy());
        PartialFile(Some(path.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()))))
    }

    /// Where it is being written.
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        let Some(path) = self.0.take() else { return };
        match std::fs::remove_file(&path) {
            // Not found: it was never created (creating it is what failed).
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "cannot remove a partly written upload"),
        }
    }
}

/// A `multer` error as sisk's: the body's own errors (`413`, `408`, a client that left) come back as
/// they were; anything else is a malformed body (`400`).
fn from_multer(err: multer::Error) -> Error {
    match err {
        multer::Error::StreamReadFailed(cause) => match cause.downcast::<Error>() {
            Ok(body_error) => *body_error,
            Err(cause) => Error::invalid_multipart(&cause).caused_by(cause),
        },
        other => Error::invalid_multipart(&other).caused_by(other),
    }
}
