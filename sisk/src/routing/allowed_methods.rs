//! [`AllowedMethods`]: the methods a path answers, as the `Allow` header of a `405` (and of the `200` to
//! an `OPTIONS` the path has no route for) lists them.

use http::HeaderValue;

use crate::routing::RouteMethod;

/// A set of route methods, listed in the order of the table of route methods (`GET`, `POST`, `PUT`,
/// `PATCH`, `DELETE`, `HEAD`, `OPTIONS`). A route for `GET` also answers `HEAD`, so the set has both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AllowedMethods(u16);

impl AllowedMethods {
    /// The methods of `routes` (`GET` bringing `HEAD`). An `Any` route answers every method, so it never
    /// makes a `405`; it adds nothing here.
    pub(crate) fn of(routes: impl IntoIterator<Item = RouteMethod>) -> Self {
        let mut allowed = AllowedMethods::default();
        for method in routes {
            allowed = allowed.with(method);
        }
        if allowed.contains(RouteMethod::Get) {
            allowed = allowed.with(RouteMethod::Head);
        }
        allowed
    }

    /// The set with `method` in it.
    pub(crate) fn with(self, method: RouteMethod) -> Self {
        match method {
            RouteMethod::Any => self,
            method => AllowedMethods(self.0 | bit(method)),
        }
    }

    /// True when `method` is in the set.
    pub(crate) fn contains(self, method: RouteMethod) -> bool {
        self.0 & bit(method) != 0
    }

    /// The `Allow` header's value: the methods' wire names, separated by `", "`.
    pub(crate) fn header_value(self) -> HeaderValue {
        let mut listed = String::new();
        for method in RouteMethod::ROUTED.into_iter().filter(|method| self.contains(*method)) {
            if !listed.is_empty() {
                listed.push_str(", ");
            }
            listed.push_str(method.as_str());
        }
        HeaderValue::from_str(&listed).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The bit of `method` in the set.
fn bit(method: RouteMethod) -> u16 {
    1 << method as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use RouteMethod::*;

    #[test]
    fn methods_are_listed_in_the_table_order_and_get_brings_head() {
        assert_eq!(AllowedMethods::of([Put, Get]).header_value(), "GET, PUT, HEAD");
        assert_eq!(AllowedMethods::of([Post]).header_value(), "POST");
        assert_eq!(AllowedMethods::of([Post]).with(Options).header_value(), "POST, OPTIONS");
        assert_eq!(AllowedMethods::of([Head, Get, Get]).header_value(), "GET, HEAD");
        assert_eq!(AllowedMethods::of([]).header_value(), "");
    }

    #[test]
    fn any_is_never_listed() {
        assert_eq!(AllowedMethods::of([Any, Delete]).header_value(), "DELETE");
        assert!(!AllowedMethods::of([Any]).contains(Any));
    }
}
