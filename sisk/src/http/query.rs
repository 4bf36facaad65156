//! [`QueryString`]: the percent-decoded pairs of a request's query, or of a urlencoded form body, keeping
//! repeated keys, with typed getters.

use std::str::FromStr;

use crate::Error;

/// The query string of a request, decoded (`+` and `%XX`), in order, with repeated keys kept. A form
/// body (`application/x-www-form-urlencoded`) is read into the same collection by
/// [`get_form_content`](crate::http::HttpRequest::get_form_content).
///
/// ```
/// let q = sisk::http::QueryString::parse("tag=a&tag=b%20c&page=2&empty");
/// assert_eq!(q.get("page"), Some("2"));
/// assert_eq!(q.get_all("tag").collect::<Vec<_>>(), ["a", "b c"]);
/// assert_eq!(q.get("empty"), Some(""));
/// assert_eq!(q.get("missing"), None);
///
/// // Typed: a value that does not parse is an error whose response is 400.
/// assert_eq!(q.get_as::<u32>("page").unwrap(), Some(2));
/// assert_eq!(q.get_as::<u32>("missing").unwrap(), None);
/// assert_eq!(q.require::<u32>("page").unwrap(), 2);
/// assert_eq!(q.require::<u32>("tag").unwrap_err().kind(), sisk::ErrorKind::InvalidContent);
/// assert_eq!(q.require::<u32>("missing").unwrap_err().status_code(), Some(sisk::http::StatusCode::BAD_REQUEST));
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

    /// Parses a urlencoded form body of at most `maximum` pairs (`0`: any number); `None` with more.
    pub(crate) fn parse_at_most(body: &[u8], maximum: usize) -> Option<Self> {
        let pairs = form_urlencoded::parse(body).into_owned();
        let pairs: Vec<(String, String)> =
            if maximum == 0 { pairs.collect() } else { pairs.take(maximum.saturating_add(1)).collect() };
        (maximum == 0 || pairs.len() <= maximum).then_some(QueryString { pairs })
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first value of `key` parsed as a `T` (a number, a `bool`, anything `FromStr`): `Ok(None)`
    /// without one, an error whose response is `400` when it does not parse.
    pub fn get_as<T>(&self, key: &str) -> Result<Option<T>, Error>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|value| value.parse().map_err(|e| Error::invalid_value(key, std::any::type_name::<T>(), e)))
            .transpose()
    }

    /// The first value of `key` parsed as a `T`: an error whose response is `400` when it is missing or
    /// does not parse.
    pub fn require<T>(&self, key: &str) -> Result<T, Error>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get_as(key)?.ok_or_else(|| Error::missing_value(key))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_body_is_refused_past_its_field_count() {
        assert_eq!(QueryString::parse_at_most(b"a=1&b=2&a=3", 3).map(|q| q.len()), Some(3));
        assert_eq!(QueryString::parse_at_most(b"a=1&b=2&a=3", 2), None);
        assert_eq!(QueryString::parse_at_most(b"a=1&b=2&a=3", 0).map(|q| q.len()), Some(3), "0: no limit");
        assert_eq!(QueryString::parse_at_most(b"a=%FF%FE", 1).unwrap().get("a"), Some("\u{fffd}\u{fffd}"));
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
