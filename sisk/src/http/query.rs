//! [`QueryString`]: the percent-decoded query of a request, keeping repeated keys.

/// The query string of a request, decoded (`+` and `%XX`), in order, with repeated keys kept.
///
/// ```
/// let q = sisk::http::QueryString::parse("tag=a&tag=b%20c&page=2&empty");
/// assert_eq!(q.get("page"), Some("2"));
/// assert_eq!(q.get_all("tag").collect::<Vec<_>>(), ["a", "b c"]);
/// assert_eq!(q.get("empty"), Some(""));
/// assert_eq!(q.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryString {
    pairs: Vec<(String, String)>,
}

impl QueryString {
    /// Parses the part of a URL after `?` (without the `?`).
    pub fn parse(query: &str) -> Self {
        QueryString { pairs: form_urlencoded::parse(query.as_bytes()).into_owned().collect() }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Property tests: any query decodes without a panic, and pairs encoded as a form decode back to
/// themselves, in order, with repeated keys kept.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_query_decodes(query in prop_oneof!["[a=&%+0-9A-F;]{0,24}", any::<String>()]) {
            let parsed = QueryString::parse(&query);
            prop_assert!(parsed.len() <= query.split('&').count());
            prop_assert_eq!(parsed.is_empty(), parsed.iter().next().is_none());
            for (key, value) in parsed.iter() {
                prop_assert!(parsed.get(key).is_some());
                prop_assert!(parsed.get_all(key).any(|v| v == value));
            }
        }

        #[test]
        fn encoded_pairs_decode_back(
            pairs in prop::collection::vec((prop_oneof!["", any::<String>()], any::<String>()), 0..6),
        ) {
            let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let parsed = QueryString::parse(&query);
            let expected: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), expected);
            for (key, _) in &pairs {
                let first = pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
                prop_assert_eq!(parsed.get(key), first);
            }
        }
    }
}
