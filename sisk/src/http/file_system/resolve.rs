//! From a request path to a file or directory under the root, and nowhere else.
//!
//! The path is read as the client sent it (still percent-encoded), so nothing upstream has normalised
//! it. Each segment is decoded on its own and refused when it could leave its place: `.` and `..`, a
//! decoded `/` (`%2f`) or `\` (`%5c`, or a raw backslash), NUL and other control characters, a `:`
//! (a drive or stream prefix on Windows), bytes that are not UTF-8. What remains is joined under the
//! root, canonicalised (symbolic links resolved) and must still lie under the canonical root: a link
//! that points out of the root is refused too.

use std::io;
use std::path::{Path, PathBuf};

/// Why a request path is not served.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A segment that could leave its directory: answered `400`.
    BadPath,
    /// Nothing there (or the path is not under the handler's prefix): `404`.
    NotFound,
    /// It exists, but is not served: it resolves outside the root (a symbolic link), or it is a
    /// directory without an index file while listings are off: `403`.
    Forbidden,
    /// The file system failed: `500`.
    Io(io::Error),
}

/// The decoded segments of `raw_path` below `prefix` (compared without regard to ASCII case, as a router
/// may match), each checked as the module says.
pub(crate) fn relative_segments(raw_path: &str, prefix: &str) -> Result<Vec<String>, Refusal> {
    let mut segments = raw_path.split('/').filter(|s| !s.is_empty());
    for expected in prefix.split('/').filter(|s| !s.is_empty()) {
        match segments.next() {
            Some(segment) if segment.eq_ignore_ascii_case(expected) => {}
            _ => return Err(Refusal::NotFound),
        }
    }
    segments.map(decode_segment).collect()
}

fn decode_segment(raw: &str) -> Result<String, Refusal> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().map_err(|_| Refusal::BadPath)?.into_owned();
    let forbidden = |c: char| matches!(c, '/' | '\\' | ':') || c.is_control();
    if decoded == "." || decoded == ".." || decoded.chars().any(forbidden) {
        return Err(Refusal::BadPath);
    }
    Ok(decoded)
}

/// A checked place under the root.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// A regular file, by its canonical path.
    File(PathBuf),
    /// A directory, by its canonical path.
    Directory(PathBuf),
}

/// The root directory with its symbolic links resolved, which every path served must lie under; a root
/// that does not exist serves nothing.
pub(crate) async fn canonical_root(root: &Path) -> Result<PathBuf, Refusal> {
    tokio::fs::canonicalize(root).await.map_err(|_| Refusal::NotFound)
}

/// Finds `segments` under `root` (a [`canonical_root`]). Anything but a regular file or a directory (a
/// socket, a FIFO) is not found.
pub(crate) async fn resolve(root: &Path, segments: &[String]) -> Result<Resolved, Refusal> {
    // A path that cannot be resolved (missing, a file used as a directory, a link loop) is not found.
    let mut path = root.to_path_buf();
    path.extend(segments);
    let path = tokio::fs::canonicalize(&path).await.map_err(|_| Refusal::NotFound)?;
    if !path.starts_with(root) {
        return Err(Refusal::Forbidden);
    }
    let metadata = tokio::fs::metadata(&path).await.map_err(Refusal::Io)?;
    if metadata.is_file() {
        Ok(Resolved::File(path))
    } else if metadata.is_dir() {
        Ok(Resolved::Directory(path))
    } else {
        Err(Refusal::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_below_the_prefix_are_decoded() {
        let ok = |path: &str, prefix: &str| relative_segments(path, prefix).unwrap();
        assert_eq!(ok("/static/css/site%20a.css", "/static"), ["css", "site a.css"]);
        assert_eq!(ok("/STATIC//a/", "/static/"), ["a"]);
        assert_eq!(ok("/", "/"), Vec::<String>::new());
        assert_eq!(ok("/%C3%A9t%C3%A9.txt", "/"), ["été.txt"]);
        assert!(matches!(relative_segments("/other/a", "/static"), Err(Refusal::NotFound)));
    }

    #[test]
    fn segments_that_could_leave_their_place_are_refused() {
        let table = [
            "/..",
            "/a/../b",
            "/%2e%2e/x",
            "/%2E%2E",
            "/.",
            "/a%2fb",
            "/a%2Fb",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/C:",
            "/c%3a",
            "/%0d%0a",
            "/%ff",
        ];
        for path in table {
            assert!(matches!(relative_segments(path, "/"), Err(Refusal::BadPath)), "{path}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever the client sends, an accepted segment can only name an entry of its directory.
            #[test]
            fn accepted_segments_stay_in_their_directory(path in "[/a.%2fF5cC0e\\\\:]{0,24}") {
                if let Ok(segments) = relative_segments(&path, "/") {
                    for segment in segments {
                        prop_assert!(segment != "." && segment != "..");
                        prop_assert!(!segment.contains(['/', '\\', ':', '\0']));
                        prop_assert_eq!(Path::new(&segment).components().count(), 1);
                    }
                }
            }
        }
    }
}
