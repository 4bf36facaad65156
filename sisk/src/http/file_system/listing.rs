//! The HTML page listing a directory, when the handler allows it: a link to the parent, then the
//! subdirectories and the files with their size and modification date. Names are HTML-escaped in the
//! text and percent-encoded in the links, so no file name can inject markup.

use std::fmt::Write as _;
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a path segment keeps unencoded in a link.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

struct Entry {
    name: String,
    is_dir: bool,
    size: u64,
    modified: Option<std::time::SystemTime>,
}

/// The listing of `directory`, titled `shown` (the request path), at most `limit` entries (a note says
/// how many more there are). Names that are not UTF-8 cannot be requested, so they are left out, and so
/// are hidden names (starting with `.`) unless `show_hidden`.
pub(crate) async fn render(directory: &Path, shown: &str, limit: usize, show_hidden: bool) -> std::io::Result<String> {
    let mut reader = tokio::fs::read_dir(directory).await?;
    let mut entries = Vec::new();
    let mut more = 0usize;
    while let Some(entry) = reader.next_entry().await? {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && !show_hidden {
            continue;
        }
        if entries.len() >= limit {
            more += 1;
            continue;
        }
        let Ok(metadata) = entry.metadata().await else {
            continue;
        };
        entries.push(Entry {
            name,
            is_dir: metadata.is_dir(),
            size: metadata.len(),
            modified: metadata.modified().ok(),
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));

    let title = escape(shown);
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n"
    );
    if shown != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let href = utf8_percent_encode(&entry.name, SEGMENT);
        let size = if entry.is_dir { String::new() } else { entry.size.to_string() };
        let modified = entry.modified.map(httpdate::fmt_http_date).unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{href}{slash}\">{}{slash}</a></td><td>{size}</td><td>{modified}</td></tr>",
            escape(&entry.name)
        );
    }
    page.push_str("</table>\n");
    if more > 0 {
        let _ = writeln!(page, "<p>{more} more entries not listed.</p>");
    }
    page.push_str("</body></html>\n");
    Ok(page)
}

/// `text` with the characters that mean something in HTML escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(escape("<img src=x onerror='a'>&\""), "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;");
    }

    #[tokio::test]
    async fn a_listing_escapes_names_and_lists_directories_first() {
        let dir = std::env::temp_dir().join(format!("sisk-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("<b>.txt"), "x").unwrap();
        std::fs::write(dir.join("a b.txt"), "hello").unwrap();
        let page = render(&dir, "/files/", 10, false).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(page.contains("<a href=\"../\">"), "{page}");
        assert!(page.contains("<a href=\"%3Cb%3E.txt\">&lt;b&gt;.txt</a>"), "{page}");
        assert!(page.contains("<a href=\"a%20b.txt\">a b.txt</a></td><td>5</td>"), "{page}");
        let sub = page.find("sub/").unwrap();
        assert!(sub < page.find("a%20b.txt").unwrap(), "directories first");
        assert!(!page.contains("<b>"));
    }

    #[tokio::test]
    async fn a_listing_stops_at_its_limit() {
        let dir = std::env::temp_dir().join(format!("sisk-listing-limit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..5 {
            std::fs::write(dir.join(format!("{i}.txt")), "").unwrap();
        }
        let page = render(&dir, "/", 3, false).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(page.matches("<tr>").count(), 3);
        assert!(page.contains("2 more entries not listed."));
    }
}
