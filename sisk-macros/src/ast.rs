//! Parsing: the attribute's arguments and the function it sits on.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Ident, ItemFn, LitStr, Token};

/// A parsed route attribute and its function.
pub struct RouteFn {
    /// `Get`, `Post`, …, with the span to report a bad method at.
    pub method: Ident,
    /// The path literal, if one was given (none means `/`).
    pub path: Option<LitStr>,
    /// The function, unchanged.
    pub function: ItemFn,
}

const METHODS: [&str; 8] = ["Get", "Post", "Put", "Patch", "Delete", "Head", "Options", "Any"];

/// `#[route(RouteMethod::Get, "/p")]`: the method, then an optional path.
struct MethodAndPath(Ident, Option<LitStr>);

impl Parse for MethodAndPath {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let method: syn::Path = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a method and a path, like `#[route(RouteMethod::Get, \"/users\")]`")
        })?;
        let ident = method.segments.last().map(|s| s.ident.clone()).expect("a path has a segment");
        if !METHODS.contains(&ident.to_string().as_str()) {
            return Err(syn::Error::new_spanned(
                &method,
                format!("unknown route method; use one of RouteMethod::{{{}}}", METHODS.join(", ")),
            ));
        }
        let path = if input.is_empty() {
            None
        } else {
            input.parse::<Token![,]>()?;
            Some(parse_path(input)?)
        };
        Ok(MethodAndPath(ident, path))
    }
}

fn parse_path(input: ParseStream) -> syn::Result<LitStr> {
    let path = input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), "expected the route path as a string, like \"/users/<id>\""))?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the path; a route attribute takes one path string"));
    }
    Ok(path)
}

/// Parses a route attribute (`method` is `None` for `#[route(...)]`) and the item it sits on.
pub fn parse(method: Option<&'static str>, attr: TokenStream, item: TokenStream) -> syn::Result<RouteFn> {
    let (method, path) = match method {
        Some(method) => {
            let path = (|input: ParseStream| if input.is_empty() { Ok(None) } else { parse_path(input).map(Some) })
                .parse2(attr)?;
            (Ident::new(method, Span::call_site()), path)
        }
        None => {
            let MethodAndPath(method, path) = syn::parse2(attr)?;
            (method, path)
        }
    };
    let function = match syn::parse2::<syn::Item>(item)? {
        syn::Item::Fn(function) => function,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "a route attribute goes on a free function, like `async fn name(req: HttpRequest) -> HttpResponse`",
            ))
        }
    };
    Ok(RouteFn { method, path, function })
}
