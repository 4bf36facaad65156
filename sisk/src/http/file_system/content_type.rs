//! The `Content-Type` of a file, guessed from its extension with `mime_guess`; text is declared UTF-8.

use std::path::Path;

use http::HeaderValue;

/// The media type for `path`: from its extension, `application/octet-stream` when unknown. Textual types
/// (`text/*`, JavaScript, JSON) carry `charset=utf-8`.
pub(crate) fn content_type_for(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.essence_str(), "application/javascript" | "application/json");
    let value = if textual { format!("{}; charset=utf-8", mime.essence_str()) } else { mime.essence_str().to_owned() };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_extensions() {
        let table = [
            ("index.html", "text/html; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("photo.JPG", "image/jpeg"),
            ("movie.mp4", "video/mp4"),
            ("no-extension", "application/octet-stream"),
        ];
        for (name, expected) in table {
            assert_eq!(content_type_for(Path::new(name)), expected, "{name}");
        }
    }
}
