//! Sisk's route-path syntax and the normalisation of request paths.
//!
//! Sisk writes parameters as `<name>` (and sisk adds `<*name>`, a catch-all for the rest of the path).
//! Paths are compared by their non-empty segments, so `/users//42/` and `/users/42` are the same path.
//! [`parse`] turns a Sisk path into the pattern matchit understands, or says why it is not one
//! ([`PathError`]); [`normalize_request_path`] normalises request paths the same way.

use std::fmt;
use std::sync::Arc;

/// A route path, parsed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    /// The normalised Sisk spelling, e.g. `/users/<id>`.
    pub display: String,
    /// The matchit spelling, with parameters named by position so that routes of one shape share it
    /// whatever their parameter names, e.g. `/users/{p0}`.
    pub matchit: String,
    /// The parameter names, in the order they appear; shared, so that a request naming its parameters
    /// takes a reference to each name instead of a copy.
    pub parameters: Vec<Arc<str>>,
}

/// Why a route path is not valid. Its `Display` says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/`.
    MissingLeadingSlash {
        /// The path as written.
        path: String,
    },
    /// A segment opens a parameter with `<` but does not close it with `>`.
    UnclosedParameter {
        /// The segment as written.
        segment: String,
    },
    /// A parameter has no name, or a name with characters other than letters, digits, `_` and `-`.
    InvalidParameterName {
        /// The segment as written.
        segment: String,
    },
    /// Two parameters have the same name.
    DuplicateParameter {
        /// The repeated name.
        name: String,
    },
    /// A catch-all parameter (`<*name>`) is followed by more segments.
    CatchAllNotLast {
        /// The catch-all segment.
        segment: String,
    },
    /// A segment mixes text and a parameter (`x<id>`).
    MixedSegment {
        /// The segment as written.
        segment: String,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::MissingLeadingSlash { path } => write!(f, "a route path starts with `/`; write `/{path}`"),
            PathError::UnclosedParameter { segment } => write!(f, "parameter segment `{segment}` must end with `>`"),
            PathError::InvalidParameterName { segment } => {
                write!(f, "parameter `{segment}` needs a name of letters, digits, `_` or `-`, like `<id>`")
            }
            PathError::DuplicateParameter { name } => {
                write!(f, "parameter `<{name}>` appears twice; give each parameter its own name")
            }
            PathError::CatchAllNotLast { segment } => {
                write!(f, "catch-all parameter `{segment}` must be the last segment")
            }
            PathError::MixedSegment { segment } => {
                write!(f, "segment `{segment}` mixes text and a parameter; a parameter fills a whole segment")
            }
        }
    }
}

impl std::error::Error for PathError {}

/// Parses a Sisk route path.
///
/// The rules: it starts with `/`; a parameter is `<name>` or `<*name>` and fills a whole segment; a name
/// is made of letters, digits, `_` and `-`; a name appears once; a catch-all is the last segment.
///
/// ```
/// use sisk_route_syntax::{parse, PathError};
///
/// let pattern = parse("/users//<id>/").unwrap();
/// assert_eq!((pattern.display.as_str(), pattern.matchit.as_str()), ("/users/<id>", "/users/{p0}"));
/// assert!(matches!(parse("/users/<id"), Err(PathError::UnclosedParameter { .. })));
/// ```
pub fn parse(path: &str) -> Result<RoutePattern, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::MissingLeadingSlash { path: path.to_owned() });
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut names: Vec<&str> = Vec::new();
    let mut display = String::with_capacity(path.len());
    let mut matchit = String::with_capacity(path.len());
    for (i, segment) in segments.iter().enumerate() {
        display.push('/');
        display.push_str(segment);
        matchit.push('/');
        if let Some(inner) = segment.strip_prefix('<') {
            let Some(inner) = inner.strip_suffix('>') else {
                return Err(PathError::UnclosedParameter { segment: (*segment).to_owned() });
            };
            let (catch_all, name) = match inner.strip_prefix('*') {
                Some(name) => (true, name),
                None => (false, inner),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                return Err(PathError::InvalidParameterName { segment: (*segment).to_owned() });
            }
            if names.contains(&name) {
                return Err(PathError::DuplicateParameter { name: name.to_owned() });
            }
            if catch_all && i + 1 != segments.len() {
                return Err(PathError::CatchAllNotLast { segment: (*segment).to_owned() });
            }
            matchit.push('{');
            if catch_all {
                matchit.push('*');
            }
            matchit.push_str(&format!("p{}", names.len()));
            matchit.push('}');
            names.push(name);
        } else if segment.contains(['<', '>']) {
            return Err(PathError::MixedSegment { segment: (*segment).to_owned() });
        } else {
            for c in segment.chars() {
                match c {
                    '{' => matchit.push_str("{{"),
                    '}' => matchit.push_str("}}"),
                    c => matchit.push(c),
                }
            }
        }
    }
    if display.is_empty() {
        display.push('/');
        matchit.push('/');
    }
    Ok(RoutePattern { display, matchit, parameters: names.into_iter().map(Arc::from).collect() })
}

/// Normalises a request path the way route paths are: empty segments and the trailing slash are dropped.
/// Returns the input unchanged (borrowed) when it is already normal, which is the common case.
pub fn normalize_request_path(path: &str) -> std::borrow::Cow<'_, str> {
    let already_normal = path.starts_with('/') && !path.contains("//") && (path == "/" || !path.ends_with('/'));
    if already_normal {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sisk_paths() {
        let table = [
            ("/", "/", "/"),
            ("/users/<id>", "/users/<id>", "/users/{p0}"),
            ("/users//<id>/<post>", "/users/<id>/<post>", "/users/{p0}/{p1}"),
            ("/files/<*rest>", "/files/<*rest>", "/files/{*p0}"),
            ("/a{b}", "/a{b}", "/a{{b}}"),
        ];
        for (input, display, pattern) in table {
            let parsed = parse(input).unwrap();
            assert_eq!((parsed.display.as_str(), parsed.matchit.as_str()), (display, pattern), "{input}");
        }
        assert_eq!(parse("/a/<x>/b/<*y>").unwrap().parameters, [Arc::from("x"), Arc::from("y")]);
    }

    #[test]
    fn rejects_bad_paths_with_reasons() {
        let segment = |s: &str| s.to_owned();
        let table = [
            ("users", PathError::MissingLeadingSlash { path: segment("users") }),
            ("/<id", PathError::UnclosedParameter { segment: segment("<id") }),
            ("/<>", PathError::InvalidParameterName { segment: segment("<>") }),
            ("/<a>/<a>", PathError::DuplicateParameter { name: segment("a") }),
            ("/<*a>/b", PathError::CatchAllNotLast { segment: segment("<*a>") }),
            ("/x<a>", PathError::MixedSegment { segment: segment("x<a>") }),
        ];
        for (input, expected) in table {
            assert!(!expected.to_string().is_empty());
            assert_eq!(parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn normalises_request_paths() {
        for (input, expected) in [("/", "/"), ("/a/b", "/a/b"), ("/a//b/", "/a/b"), ("//", "/"), ("", "/")] {
            assert_eq!(normalize_request_path(input), expected, "{input}");
        }
    }
}

/// Property tests: any text is a valid route path or an error, never a panic; what is accepted is already
/// normal. (That an accepted path routes the requests it describes is checked beside the router.)
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Paths made of the grammar's own characters, so that most are valid and many nearly so.
    fn path_like() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            "[a-z0-9_.%-]{1,6}",
            "<[a-z0-9_-]{0,4}>",
            "<\\*[a-z0-9]{0,4}>",
            "[<>*{}/a]{1,4}",
            any::<char>().prop_map(String::from),
        ];
        (any::<bool>(), prop::collection::vec(segment, 0..6), any::<bool>()).prop_map(|(root, segments, trailing)| {
            let mut path = String::from(if root { "/" } else { "" });
            path.push_str(&segments.join(if trailing { "//" } else { "/" }));
            if trailing {
                path.push('/');
            }
            path
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_a_path_or_an_error(path in prop_oneof![path_like(), any::<String>()]) {
            match parse(&path) {
                Ok(pattern) => {
                    // The normal spelling is a fixed point, and means the same route.
                    prop_assert_eq!(parse(&pattern.display), Ok(pattern.clone()));
                    prop_assert_eq!(normalize_request_path(&pattern.display), pattern.display.as_str());
                }
                Err(why) => prop_assert!(!why.to_string().is_empty()),
            }
        }

        #[test]
        fn request_paths_normalise_to_a_fixed_point(path in prop_oneof!["[/a.]{0,8}", any::<String>()]) {
            let normal = normalize_request_path(&path);
            prop_assert!(normal.starts_with('/') && !normal.contains("//"));
            prop_assert!(normal == "/" || !normal.ends_with('/'));
            prop_assert_eq!(normalize_request_path(&normal), normal.as_ref());
        }
    }
}
