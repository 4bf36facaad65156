//! [`RotatingPolicy`]: when a file-based [`LogStream`](crate::http::LogStream) moves its file aside and
//! starts a new one, and how many of the old ones it keeps (gzipped, as Sisk's rotation does).

use file_rotate::{ContentLimit, TimeFrequency};

/// When a log file is rotated: `access.log` becomes `access.log.1` (then `.2`, …), gzipped into
/// `access.log.1.gz` unless [`uncompressed`](Self::uncompressed), and writing goes on in a new
/// `access.log`; the oldest beyond [`keep`](Self::keep) are removed.
///
/// Sisk's `ConfigureRotatingPolicy(maximumSize, dueTime)` checks the size every `dueTime`; here the size
/// is checked as each line is written ([`maximum_size`](Self::maximum_size)), or the file is rotated
/// on the clock ([`hourly`](Self::hourly), [`daily`](Self::daily)).
///
/// ```
/// use sisk::http::{LogStream, RotatingPolicy};
///
/// let errors = LogStream::new("logs/error.log")
///     .configure_rotating_policy(RotatingPolicy::maximum_size(64 * 1024 * 1024).keep(4));
/// # let _ = errors;
/// ```
#[derive(Debug, Clone)]
pub struct RotatingPolicy {
    pub(crate) limit: Limit,
    pub(crate) keep: usize,
    pub(crate) compressed: bool,
}

/// What triggers a rotation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    Size(u64),
    Hourly,
    Daily,
}

impl RotatingPolicy {
    /// Rotates once the file has grown past `bytes` (checked as each line is written; at least 1).
    pub fn maximum_size(bytes: u64) -> Self {
        RotatingPolicy::with(Limit::Size(bytes))
    }

    /// Rotates every hour, on the hour.
    pub fn hourly() -> Self {
        RotatingPolicy::with(Limit::Hourly)
    }

    /// Rotates every day, at midnight local time.
    pub fn daily() -> Self {
        RotatingPolicy::with(Limit::Daily)
    }

    /// Keeps at most `files` rotated files (default 10); older ones are removed.
    pub fn keep(mut self, files: usize) -> Self {
        self.keep = files;
        self
    }

    /// Leaves rotated files as they are instead of gzipping them.
    pub fn uncompressed(mut self) -> Self {
        self.compressed = false;
        self
    }

    fn with(limit: Limit) -> Self {
        RotatingPolicy { limit, keep: 10, compressed: true }
    }

    /// The limit as file-rotate takes it; `None` for a size of zero, which cannot be a limit.
    pub(crate) fn content_limit(&self) -> Option<ContentLimit> {
        match self.limit {
            Limit::Size(0) => None,
            Limit::Size(bytes) => Some(ContentLimit::BytesSurpassed(usize::try_from(bytes).unwrap_or(usize::MAX))),
            Limit::Hourly => Some(ContentLimit::Time(TimeFrequency::Hourly)),
            Limit::Daily => Some(ContentLimit::Time(TimeFrequency::Daily)),
        }
    }
}
