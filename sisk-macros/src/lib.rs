//! Attribute routes for [sisk](https://docs.rs/sisk): `#[route_get("/path")]` and friends on free async (or
//! synchronous) functions, registered through `inventory` and picked up by `Router::auto_scan()`; and
//! controllers, `#[route_prefix("/api/users")]` on an `impl` block whose methods carry those attributes,
//! picked up by `Router::set_object` (and their static routes by `auto_scan` too).
//!
//! Each macro works in three phases, one file each: `ast` parses the attribute and the item, `valid`
//! checks them (the path with the same rules the router uses at run time) and reports every mistake at the
//! offending token, `expand` writes the registration. On an error the item is emitted as written next to
//! it (a controller's methods without their route attributes), so one mistake gives one error.

mod ast;
mod errors;
mod expand;
mod valid;

use proc_macro::TokenStream;

fn route_for(method: Option<&'static str>, attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let parsed =
        ast::route_fn(method, attr.into(), item.clone()).and_then(|route| valid::route_fn(&route).map(|()| route));
    match parsed {
        Ok(route) => expand::route_fn(&route).into(),
        Err(err) => with_item(err, item),
    }
}

/// The errors, then the item as written, so that one mistake gives one error and IDEs keep the item.
fn with_item(err: syn::Error, item: proc_macro2::TokenStream) -> TokenStream {
    let error = err.to_compile_error();
    quote::quote!(#error #item).into()
}

/// `#[route_get]`, `#[route_post]`, …: one attribute per line of the table of route methods.
macro_rules! method_attributes {
    (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
     any { $any:ident $any_attr:ident $any_map:ident $any_ctor:ident $any_doc:literal }) => {
        $(method_attributes!(@one $attr $variant $doc);)*
        method_attributes!(@one $any_attr $any $any_doc);
    };
    (@one $attr:ident $variant:ident $doc:literal) => {
        #[doc = concat!("Makes a function a route answering ", $doc, ": `#[", stringify!($attr), "(\"/path\")]`")]
        #[doc = "on a free function, picked up by `Router::auto_scan()`, or on a method of a"]
        #[doc = "[`route_prefix`](macro@route_prefix) controller. The path and the function follow the rules of"]
        #[doc = "[`route`](macro@route). `use_cors = false` after the path leaves the route out of the"]
        #[doc = "server's CORS policy (Sisk's `UseCors = false`; `Route::without_cors`); `cors = f` answers it"]
        #[doc = "with the policy `f()` returns instead (`Route::with_cors`).\n\n```"]
        #[doc = concat!("use sisk::prelude::*;\n\n#[", stringify!($attr), "(\"/items/<id>\")]")]
        #[doc = "async fn item(req: HttpRequest) -> String {"]
        #[doc = "    format!(\"{} {}\", req.method(), req.route_parameter(\"id\").unwrap_or_default())\n}\n"]
        #[doc = "let mut r = Router::new();\nr.auto_scan();"]
        #[doc = concat!("assert!(r.routes().any(|route| route.method() == RouteMethod::", stringify!($variant), "));\n```")]
        #[proc_macro_attribute]
        pub fn $attr(attr: TokenStream, item: TokenStream) -> TokenStream {
            route_for(Some(stringify!($variant)), attr, item)
        }
    };
}

sisk_route_syntax::route_methods!(method_attributes);

#[doc = include_str!("docs/route.md")]
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route_for(None, attr, item)
}

#[doc = include_str!("docs/request_handler.md")]
#[proc_macro_attribute]
pub fn request_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    companion(ast::REQUEST_HANDLER, attr, item)
}

/// Skips a global request handler on this route (Sisk's `BypassGlobalRequestHandlers`):
/// `#[bypass_global_request_handler(expr)]`, where `expr` gives the very instance added with
/// `add_global_request_handler` (or a clone of it). See [`request_handler`](macro@request_handler).
#[proc_macro_attribute]
pub fn bypass_global_request_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    companion(ast::BYPASS_GLOBAL_REQUEST_HANDLER, attr, item)
}

/// A companion attribute expanded on its own: it was written above its route attribute.
fn companion(name: &str, attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    match ast::companion_first(name, attr.into(), item.clone()) {
        Ok(reordered) => reordered.into(),
        Err(err) => with_item(err, item),
    }
}

#[doc = include_str!("docs/route_prefix.md")]
#[proc_macro_attribute]
pub fn route_prefix(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let checked = ast::controller(attr.into(), item.clone())
        .and_then(|controller| valid::controller(&controller).map(|()| controller));
    match checked {
        Ok(controller) => expand::controller(&controller).into(),
        // With a `Controller` impl that has no routes, `r.set_object(…)` elsewhere still compiles: the
        // user sees the one mistake, not a second error about the trait.
        Err(err) => {
            let item = ast::without_route_attributes(item);
            let inherent = syn::parse2::<syn::ItemImpl>(item.clone()).ok().filter(|i| i.trait_.is_none());
            let stub = inherent.map(|i| expand::controller_stub(&i.self_ty));
            with_item(err, quote::quote!(#item #stub))
        }
    }
}
