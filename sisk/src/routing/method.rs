//! [`RouteMethod`]: the HTTP method a route answers, with `Any` for every method, as in Sisk. The enum is
//! generated from the one table of route methods (`sisk_route_syntax::route_methods!`), which also gives
//! the router's `map_*` helpers, the `Route` constructors and the `#[route_*]` attributes.

use std::fmt;

macro_rules! route_method_enum {
    (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
     any { $any:ident $any_attr:ident $any_map:ident $any_ctor:ident $any_doc:literal }) => {
        /// The HTTP method a [`Route`](crate::routing::Route) answers.
        ///
        /// `Any` answers every method; a route with a specific method on the same path takes priority over it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RouteMethod {
            $(
                #[doc = concat!($doc, ".")]
                $variant,
            )*
            #[doc = concat!("Answers ", $any_doc, ".")]
            $any,
        }

        impl RouteMethod {
            /// Every method but `Any`, in the table's order.
            pub(crate) const ROUTED: [RouteMethod; [$(stringify!($variant)),*].len()] = [$(RouteMethod::$variant),*];

            /// The method for an HTTP method, or `None` for methods sisk does not route (such as `TRACE`).
            pub fn from_http(method: &http::Method) -> Option<Self> {
                $(
                    if *method == http::Method::$wire {
                        return Some(RouteMethod::$variant);
                    }
                )*
                None
            }

            /// The method's name as it appears on the wire (`"*"` for `Any`).
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(RouteMethod::$variant => stringify!($wire),)*
                    RouteMethod::$any => "*",
                }
            }
        }
    };
}

sisk_route_syntax::route_methods!(route_method_enum);

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_method_round_trips_through_its_wire_name() {
        use RouteMethod::*;
        for method in [Get, Post, Put, Patch, Delete, Head, Options] {
            let wire = http::Method::from_bytes(method.as_str().as_bytes()).unwrap();
            assert_eq!(RouteMethod::from_http(&wire), Some(method));
        }
        assert_eq!(RouteMethod::from_http(&http::Method::TRACE), None);
        assert_eq!(RouteMethod::from_http(&http::Method::from_bytes(b"*").unwrap()), None);
    }
}
