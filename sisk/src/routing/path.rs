//! Sisk's route-path syntax and the normalisation of request paths.
//!
//! Sisk writes parameters as `<name>` (and we add `<*name>`, a catch-all for the rest of the path). Paths
//! are compared by their non-empty segments, so `/users//42/` and `/users/42` are the same path. This
//! module turns a Sisk path into the pattern matchit understands and normalises request paths the same
//! way. It is shared with `sisk-macros`, which validates attribute paths at compile time with the same
//! rules (see [`validate`]).

/// A route path, parsed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoutePattern {
    /// The normalised Sisk spelling, e.g. `/users/<id>`.
    pub(crate) display: String,
    /// The matchit spelling, with parameters named by position so that routes of one shape share it
    /// whatever their parameter names, e.g. `/users/{p0}`.
    pub(crate) matchit: String,
    /// The parameter names, in the order they appear.
    pub(crate) parameters: Vec<String>,
}

/// Checks a Sisk route path and returns why it is invalid.
///
/// The rules: it starts with `/`; a parameter is `<name>` or `<*name>` and fills a whole segment; a name
/// is made of letters, digits, `_` and `-`; a name appears once; a catch-all is the last segment.
pub fn validate(path: &str) -> Result<(), String> {
    parse(path).map(|_| ())
}

pub(crate) fn parse(path: &str) -> Result<RoutePattern, String> {
    if !path.starts_with('/') {
        return Err(format!("a route path starts with `/`; write `/{path}`"));
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
                return Err(format!("parameter segment `{segment}` must end with `>`"));
            };
            let (catch_all, name) = match inner.strip_prefix('*') {
                Some(name) => (true, name),
                None => (false, inner),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                return Err(format!("parameter `{segment}` needs a name of letters, digits, `_` or `-`, like `<id>`"));
            }
            if names.contains(&name) {
                return Err(format!("parameter `<{name}>` appears twice; give each parameter its own name"));
            }
            if catch_all && i + 1 != segments.len() {
                return Err(format!("catch-all parameter `{segment}` must be the last segment"));
            }
            matchit.push('{');
            if catch_all {
                matchit.push('*');
            }
            matchit.push_str(&format!("p{}", names.len()));
            matchit.push('}');
            names.push(name);
        } else if segment.contains(['<', '>']) {
            return Err(format!("segment `{segment}` mixes text and a parameter; a parameter fills a whole segment"));
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
    Ok(RoutePattern { display, matchit, parameters: names.into_iter().map(str::to_owned).collect() })
}

/// Normalises a request path the way route paths are: empty segments and the trailing slash are dropped.
/// Returns the input unchanged (borrowed) when it is already normal, which is the common case.
pub(crate) fn normalize_request_path(path: &str) -> std::borrow::Cow<'_, str> {
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
        assert_eq!(parse("/a/<x>/b/<*y>").unwrap().parameters, ["x", "y"]);
    }

    #[test]
    fn rejects_bad_paths_with_reasons() {
        let table = [
            ("users", "starts with `/`"),
            ("/<id", "must end with `>`"),
            ("/<>", "needs a name"),
            ("/<a>/<a>", "appears twice"),
            ("/<*a>/b", "must be the last"),
            ("/x<a>", "fills a whole segment"),
        ];
        for (input, reason) in table {
            let err = parse(input).unwrap_err();
            assert!(err.contains(reason), "{input}: {err}");
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
                    prop_assert!(validate(&path).is_ok());
                }
                Err(why) => {
                    prop_assert!(!why.is_empty());
                    prop_assert_eq!(validate(&path), Err(why));
                }
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
