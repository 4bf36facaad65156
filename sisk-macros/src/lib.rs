//! Attribute routes for [sisk](https://docs.rs/sisk): `#[route_get("/path")]` and friends on free async (or
//! synchronous) functions, registered through `inventory` and picked up by `Router::auto_scan()`.
//!
//! Each macro works in three phases, one file each: `ast` parses the attribute and the item, `valid`
//! checks them (the path with the same rules the router uses at run time) and reports every mistake at the
//! offending token, `expand` writes the registration. On an error the original function is emitted
//! unchanged next to it, so one mistake gives one error.

mod ast;
mod expand;
mod valid;

#[allow(dead_code)]
#[path = "../../sisk/src/routing/path.rs"]
mod path;

use proc_macro::TokenStream;

fn route_for(method: Option<&'static str>, attr: TokenStream, item: TokenStream) -> TokenStream {
    let item2: proc_macro2::TokenStream = item.into();
    let parsed = ast::parse(method, attr.into(), item2.clone()).and_then(|route| valid::check(&route).map(|()| route));
    match parsed {
        Ok(route) => expand::expand(&route).into(),
        Err(err) => {
            let error = err.to_compile_error();
            quote::quote!(#error #item2).into()
        }
    }
}

macro_rules! method_attributes {
    ($($(#[$doc:meta])* $name:ident => $method:literal;)*) => {$(
        $(#[$doc])*
        #[proc_macro_attribute]
        pub fn $name(attr: TokenStream, item: TokenStream) -> TokenStream {
            route_for(Some($method), attr, item)
        }
    )*};
}

method_attributes! {
    /// A `GET` route (also answering `HEAD`): `#[route_get("/path")]`; no path means `/`.
    route_get => "Get";
    /// A `POST` route: `#[route_post("/path")]`.
    route_post => "Post";
    /// A `PUT` route: `#[route_put("/path")]`.
    route_put => "Put";
    /// A `PATCH` route: `#[route_patch("/path")]`.
    route_patch => "Patch";
    /// A `DELETE` route: `#[route_delete("/path")]`.
    route_delete => "Delete";
    /// A `HEAD` route: `#[route_head("/path")]`.
    route_head => "Head";
    /// An `OPTIONS` route: `#[route_options("/path")]`.
    route_options => "Options";
    /// A route answering every method: `#[route_any("/path")]`.
    route_any => "Any";
}

/// A route with its method spelled out: `#[route(RouteMethod::Get, "/path")]`.
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_for(None, attr, item)
}
