//! [`LogStream`]: where the lines of a log go (Sisk's `LogStream`) — a file, rotated or not, or any
//! writer — written by tracing-appender's worker thread, so that writing a line never blocks a request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};

use crate::http::RotatingPolicy;
use crate::Error;

/// Where the lines of a log go: given to the configuration's
/// [`access_logs_stream`](crate::http::HttpServerConfiguration::access_logs_stream) or
/// [`errors_logs_stream`](crate::http::HttpServerConfiguration::errors_logs_stream), or used by the
/// program for logs of its own ([`write_line`](Self::write_line)).
///
/// A line is handed to a worker thread (tracing-appender's non-blocking writer) and written there, so a
/// request never waits for the disk; if the disk falls so far behind that 128,000 lines wait, further
/// lines are dropped (and counted, see [`dropped_lines`](Self::dropped_lines)) rather than slowing the
/// server. The file (and its folder) is created when the server is built, which fails if it cannot be.
/// Clones write to the same place.
///
/// ```
/// use sisk::http::LogStream;
/// use sisk::prelude::*;
///
/// # let dir = std::env::temp_dir().join(format!("sisk-doc-{}", std::process::id()));
/// # let path = dir.join("logs/access.log");
/// let app = HttpServer::create_builder()
///     .use_configuration(|config| {
///         config.access_logs_stream = Some(LogStream::new(&path)); // e.g. "logs/access.log"
///     })
/// #   .use_listening_port("http://127.0.0.1:0/")
///     .build()?;
/// # assert!(path.exists());
/// # drop(app);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), sisk::Error>(())
/// ```
#[derive(Clone)]
pub struct LogStream {
    target: Arc<Target>,
    opened: Arc<OnceLock<Opened>>,
}

/// What a stream writes to.
enum Target {
    File {
        path: PathBuf,
        rotation: Option<RotatingPolicy>,
    },
    /// A writer, taken out when the stream opens.
    Writer(Mutex<Option<Box<dyn Write + Send>>>),
}

/// An open stream: the writer that hands lines to the worker, and the guard that flushes and ends the
/// worker when the last clone is dropped.
struct Opened {
    writer: NonBlocking,
    _worker: WorkerGuard,
}

impl std::fmt::Debug for LogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("LogStream");
        match &*self.target {
            Target::File { path, rotation } => debug.field("path", path).field("rotation", rotation),
            Target::Writer(_) => debug.field("writer", &"…"),
        };
        debug.field("open", &self.opened.get().is_some()).finish()
    }
}

impl LogStream {
    /// A log written to the file at `path`, appended to if it exists; its folder is created if missing.
    pub fn new(path: impl AsRef<Path>) -> Self {
        LogStream::with(Target::File { path: path.as_ref().to_path_buf(), rotation: None })
    }

    /// A log written to `writer` (`std::io::stdout()`, say, as Sisk's `new LogStream(Console.Out)`);
    /// it is flushed each time the lines waiting are written.
    pub fn from_writer(writer: impl Write + Send + 'static) -> Self {
        LogStream::with(Target::Writer(Mutex::new(Some(Box::new(writer)))))
    }

    /// This file's log, rotated by `policy` (Sisk's `ConfigureRotatingPolicy`). A stream that writes to a
    /// writer is given back unchanged, as Sisk's rotation only concerns files.
    pub fn configure_rotating_policy(self, policy: RotatingPolicy) -> Self {
        match &*self.target {
            Target::File { path, .. } => LogStream::with(Target::File { path: path.clone(), rotation: Some(policy) }),
            Target::Writer(_) => self,
        }
    }

    /// Writes `line` and a line break (Sisk's `WriteLine`). Before the stream is open (it opens when a
    /// server is built with it, or here) a failure to open is logged once, and lines are dropped.
    pub fn write_line(&self, line: impl std::fmt::Display) {
        let Some(opened) = self.opened_or_logged() else { return };
        // One write per line: the worker writes each whole, and lines never interleave.
        let mut writer = opened.writer.clone();
        let _ = writer.write_all(format!("{line}\n").as_bytes());
    }

    /// How many lines were dropped because the worker was too far behind.
    pub fn dropped_lines(&self) -> usize {
        self.opened.get().map_or(0, |opened| opened.writer.error_counter().dropped_lines())
    }

    /// Opens the stream (creating the file and its folder), once; the error says why it cannot be.
    pub(crate) fn open(&self) -> Result<(), Error> {
        if self.opened.get().is_some() {
            return Ok(());
        }
        let writer: Box<dyn Write + Send> = match &*self.target {
            Target::File { path, rotation } => open_file(path, rotation.as_ref())?,
            Target::Writer(writer) => match writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(writer) => writer,
                // Taken by a clone opening at the same moment: that clone sets `opened`.
                None => return Ok(()),
            },
        };
        let (writer, worker) = tracing_appender::non_blocking(writer);
        let _ = self.opened.set(Opened { writer, _worker: worker });
        Ok(())
    }

    fn opened_or_logged(&self) -> Option<&Opened> {
        if self.opened.get().is_none() {
            if let Err(error) = self.open() {
                tracing::error!(%error, "a log stream cannot be opened; its lines are dropped");
                crate::notice::notice(crate::notice::Notice::Warn, format_args!("{error}"));
            }
        }
        self.opened.get()
    }

    fn with(target: Target) -> Self {
        LogStream { target: Arc::new(target), opened: Arc::new(OnceLock::new()) }
    }
}

/// The file at `path` opened for appending (its folder made), rotated by `rotation`.
fn open_file(path: &Path, rotation: Option<&RotatingPolicy>) -> Result<Box<dyn Write + Send>, Error> {
    let cannot = |e| Error::io(&format!("cannot open the log file {}", path.display()), e);
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(cannot)?;
    }
    // Opened here first, so that a file that cannot be written is an error now, not a panic in the
    // rotating writer.
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(cannot)?;
    let Some(rotation) = rotation else {
        return Ok(Box::new(file));
    };
    drop(file);
    let limit: ContentLimit = rotation.content_limit().ok_or_else(|| {
        Error::invalid_log_configuration("RotatingPolicy::maximum_size(0): give a size of at least 1 byte")
    })?;
    let compression = if rotation.compressed { Compression::OnRotate(0) } else { Compression::None };
    let absolute = std::path::absolute(path).map_err(cannot)?;
    Ok(Box::new(FileRotate::new(absolute, AppendCount::new(rotation.keep), limit, compression, None)))
}
