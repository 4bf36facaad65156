//! Parsing: a route attribute's arguments, the free function it sits on, and the `impl` block of a
//! controller with its route methods.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Ident, ImplItem, ImplItemFn, ItemFn, ItemImpl, LitStr, Signature, Token};

use crate::errors::Errors;

/// The method, path and options of one route attribute.
pub struct RouteArgs {
    /// `Get`, `Post`, …, with the span to report a bad method at.
    pub method: Ident,
    /// The path literal, if one was given (none means `/`, or the prefix alone in a controller).
    pub path: Option<LitStr>,
    /// The CORS options after the path.
    pub cors: CorsOptions,
}

/// A route attribute's CORS options, each at most once.
#[derive(Default)]
pub struct CorsOptions {
    /// `use_cors = false` (Sisk's `UseCors = false`): the server's CORS policy is not applied to this
    /// route.
    pub use_cors: Option<syn::LitBool>,
    /// `cors = path::to::function`: the route's own policy, returned by that function
    /// (`Route::with_cors`).
    pub policy: Option<syn::Path>,
}

/// The attributes that go with a route attribute on the same function: Sisk's `[RequestHandler<T>]`
/// (`#[request_handler(expr)]`) and `BypassGlobalRequestHandlers` (`#[bypass_global_request_handler(expr)]`).
#[derive(Default)]
pub struct Companions {
    /// The expressions of `#[request_handler(…)]`, in order: each gives a `RequestHandler`.
    pub request_handlers: Vec<syn::Expr>,
    /// The expressions of `#[bypass_global_request_handler(…)]`: each gives (a reference to) the
    /// global `RequestHandler` instance this route skips.
    pub bypassed: Vec<syn::Expr>,
}

/// The names of the companion attributes.
pub const REQUEST_HANDLER: &str = "request_handler";
/// See [`REQUEST_HANDLER`].
pub const BYPASS_GLOBAL_REQUEST_HANDLER: &str = "bypass_global_request_handler";

/// A route attribute on a free function.
pub struct RouteFn {
    /// The attribute's method and path.
    pub args: RouteArgs,
    /// Its request handlers and bypassed global ones.
    pub companions: Companions,
    /// The function, unchanged.
    pub function: ItemFn,
}

/// `#[route_prefix("/p")]` on an `impl` block: the prefix, the block with its route attributes removed,
/// and one entry per route method.
pub struct Controller {
    /// The prefix literal, if one was given (none means no prefix).
    pub prefix: Option<LitStr>,
    /// The `impl` block as it is emitted: the route attributes are taken off its methods.
    pub item: ItemImpl,
    /// The methods that carried a route attribute, in order.
    pub routes: Vec<MethodRoute>,
}

/// A method of a controller that carries a route attribute.
pub struct MethodRoute {
    /// The attribute's method and path.
    pub args: RouteArgs,
    /// Its request handlers and bypassed global ones.
    pub companions: Companions,
    /// The method's signature (the body stays in the `impl` block).
    pub sig: Signature,
}

/// `ATTRIBUTES`, from the table of route methods: the names of the route attributes, each with the
/// method it fixes (`None` for `#[route(...)]`).
macro_rules! attribute_table {
    (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
     any { $any:ident $any_attr:ident $any_map:ident $any_ctor:ident $any_doc:literal }) => {
        const ATTRIBUTES: &[(&str, Option<&str>)] = &[
            ("route", None),
            $((stringify!($attr), Some(stringify!($variant))),)*
            (stringify!($any_attr), Some(stringify!($any))),
        ];
    };
}

sisk_route_syntax::route_methods!(attribute_table);

/// The `RouteMethod` variants, in the table's order.
fn methods() -> impl Iterator<Item = &'static str> {
    ATTRIBUTES.iter().filter_map(|(_, method)| *method)
}

/// `#[route(RouteMethod::Get, "/p")]`: the method, then an optional path.
struct MethodAndPath(RouteArgs);

impl Parse for MethodAndPath {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let method: syn::Path = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a method and a path, like `#[route(RouteMethod::Get, \"/users\")]`")
        })?;
        let ident = method.segments.last().map(|s| s.ident.clone()).expect("a path has a segment");
        if !methods().any(|known| ident == known) {
            let known: Vec<&str> = methods().collect();
            return Err(syn::Error::new_spanned(
                &method,
                format!("unknown route method; use one of RouteMethod::{{{}}}", known.join(", ")),
            ));
        }
        let (path, cors) = if input.is_empty() {
            (None, CorsOptions::default())
        } else {
            input.parse::<Token![,]>()?;
            path_and_options(input)?
        };
        Ok(MethodAndPath(RouteArgs { method: ident, path, cors }))
    }
}

/// Nothing, or one path string and nothing after it (a controller's prefix).
fn optional_path(input: ParseStream) -> syn::Result<Option<LitStr>> {
    if input.is_empty() {
        return Ok(None);
    }
    let path = input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), "expected the route path as a string, like \"/users/<id>\""))?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the prefix; a controller takes one prefix string"));
    }
    Ok(Some(path))
}

/// Nothing, or one path string, then optionally `use_cors = <bool>` and `cors = <path>`, comma-separated
/// (also alone, without a path).
fn path_and_options(input: ParseStream) -> syn::Result<(Option<LitStr>, CorsOptions)> {
    let mut options = CorsOptions::default();
    if input.is_empty() {
        return Ok((None, options));
    }
    let path = if input.peek(Ident) {
        None
    } else {
        let path = input
            .parse::<LitStr>()
            .map_err(|e| syn::Error::new(e.span(), "expected the route path as a string, like \"/users/<id>\""))?;
        if input.is_empty() {
            return Ok((Some(path), options));
        }
        input.parse::<Token![,]>()?;
        Some(path)
    };
    loop {
        let option: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let twice = || syn::Error::new_spanned(&option, format!("`{option}` is given twice"));
        if option == "use_cors" {
            if options.use_cors.replace(input.parse()?).is_some() {
                return Err(twice());
            }
        } else if option == "cors" {
            let policy = input.parse().map_err(|e| {
                syn::Error::new(e.span(), "expected a function returning the route's policy, like `cors = public_cors`")
            })?;
            if options.policy.replace(policy).is_some() {
                return Err(twice());
            }
        } else {
            return Err(syn::Error::new_spanned(
                &option,
                "unknown route option; the options are `use_cors = false` and `cors = <function returning a \
                 CrossOriginResourceSharingHeaders>`",
            ));
        }
        if input.is_empty() {
            return Ok((path, options));
        }
        input.parse::<Token![,]>()?;
    }
}

/// Parses a route attribute's arguments; `method` is `None` for `#[route(...)]`.
pub fn route_args(method: Option<&str>, attr: TokenStream) -> syn::Result<RouteArgs> {
    match method {
        Some(method) => {
            let (path, cors) = path_and_options.parse2(attr)?;
            Ok(RouteArgs { method: Ident::new(method, Span::call_site()), path, cors })
        }
        None => syn::parse2::<MethodAndPath>(attr).map(|parsed| parsed.0),
    }
}

/// Parses a route attribute and the free function it sits on.
pub fn route_fn(method: Option<&str>, attr: TokenStream, item: TokenStream) -> syn::Result<RouteFn> {
    let args = route_args(method, attr)?;
    let mut function = match syn::parse2::<syn::Item>(item)? {
        syn::Item::Fn(function) => function,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "a route attribute goes on a function, like `async fn name(req: HttpRequest) -> HttpResponse`",
            ))
        }
    };
    let companions = take_companions(&mut function.attrs)?;
    Ok(RouteFn { args, companions, function })
}

/// Parses `#[route_prefix(...)]` and its `impl` block, taking the route attributes off the methods.
pub fn controller(attr: TokenStream, item: TokenStream) -> syn::Result<Controller> {
    let prefix = optional_path.parse2(attr).map_err(|e| {
        syn::Error::new(e.span(), "expected the prefix as a string, like `#[route_prefix(\"/api/users\")]`")
    })?;
    let mut item =
        match syn::parse2::<syn::Item>(item)? {
            syn::Item::Impl(item) if item.trait_.is_none() => item,
            other => return Err(syn::Error::new_spanned(
                other,
                "#[route_prefix] goes on an inherent `impl` block of a controller, like `impl UserController { … }`",
            )),
        };
    let mut routes = Vec::new();
    let mut errors = Errors::default();
    for impl_item in &mut item.items {
        let ImplItem::Fn(function) = impl_item else { continue };
        let companions = match take_companions(&mut function.attrs) {
            Ok(companions) => companions,
            Err(err) => {
                errors.push(err);
                continue;
            }
        };
        match take_route_attribute(function) {
            Ok(Some(args)) => routes.push(MethodRoute { args, companions, sig: function.sig.clone() }),
            Ok(None) => {
                if let Some(expr) = companions.request_handlers.first().or(companions.bypassed.first()) {
                    errors.push(syn::Error::new_spanned(expr, COMPANION_ALONE));
                }
            }
            Err(err) => errors.push(err),
        }
    }
    errors.finish()?;
    Ok(Controller { prefix, item, routes })
}

impl Controller {
    /// The path a route answers: the prefix, then the method's own path (none or `/` means the prefix).
    pub fn full_path(&self, route: &MethodRoute) -> String {
        let prefix = self.prefix.as_ref().map(LitStr::value).unwrap_or_default();
        let prefix = prefix.trim_end_matches('/');
        match route.args.path.as_ref().map(LitStr::value) {
            Some(path) if path != "/" => format!("{prefix}{path}"),
            _ if prefix.is_empty() => "/".to_owned(),
            _ => prefix.to_owned(),
        }
    }
}

/// The item with the route attributes (and their companions) taken off its methods, or unchanged if it
/// is not an `impl` block: what a controller with errors still emits, so that the methods' attributes
/// add no errors of their own.
pub fn without_route_attributes(item: TokenStream) -> TokenStream {
    let Ok(mut parsed) = syn::parse2::<ItemImpl>(item.clone()) else { return item };
    for impl_item in &mut parsed.items {
        if let ImplItem::Fn(function) = impl_item {
            function.attrs.retain(|attr| route_attribute_method(attr).is_none() && companion_name(attr).is_none());
        }
    }
    quote::ToTokens::into_token_stream(parsed)
}

/// Removes the route attribute of a method and parses it; two route attributes on one method are an error.
fn take_route_attribute(function: &mut ImplItemFn) -> syn::Result<Option<RouteArgs>> {
    let mut found: Option<Attribute> = None;
    let mut kept = Vec::with_capacity(function.attrs.len());
    for attr in std::mem::take(&mut function.attrs) {
        if route_attribute_method(&attr).is_none() {
            kept.push(attr);
        } else if found.is_some() {
            return Err(syn::Error::new_spanned(attr, "a method answers one route; remove the second route attribute"));
        } else {
            found = Some(attr);
        }
    }
    function.attrs = kept;
    let Some(attr) = found else { return Ok(None) };
    let method = route_attribute_method(&attr).flatten();
    let tokens = match &attr.meta {
        syn::Meta::Path(_) => TokenStream::new(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(nv) => {
            return Err(syn::Error::new_spanned(nv, "write the path in parentheses, like `#[route_get(\"/p\")]`"))
        }
    };
    route_args(method, tokens).map(Some)
}

/// `Some(method)` when the attribute is one of the route attributes (by its last path segment).
fn route_attribute_method(attr: &Attribute) -> Option<Option<&'static str>> {
    let name = attr.path().segments.last()?.ident.to_string();
    ATTRIBUTES.iter().find(|(attribute, _)| *attribute == name).map(|(_, method)| *method)
}

/// What a companion attribute without a route attribute is told.
pub const COMPANION_ALONE: &str = "this attribute goes with a route attribute on the same function, like \
                                   `#[route_get(\"/p\")]`, or on a method of a `#[route_prefix]` controller";

/// The companion attribute's name, when `attr` is one (by its last path segment).
fn companion_name(attr: &Attribute) -> Option<&'static str> {
    let name = attr.path().segments.last()?.ident.to_string();
    [REQUEST_HANDLER, BYPASS_GLOBAL_REQUEST_HANDLER].into_iter().find(|companion| *companion == name)
}

/// Removes the companion attributes from `attrs` and parses each one's expression.
fn take_companions(attrs: &mut Vec<Attribute>) -> syn::Result<Companions> {
    let mut companions = Companions::default();
    let mut errors = Errors::default();
    attrs.retain(|attr| {
        let Some(name) = companion_name(attr) else { return true };
        match attr.parse_args::<syn::Expr>() {
            Ok(expr) if name == REQUEST_HANDLER => companions.request_handlers.push(expr),
            Ok(expr) => companions.bypassed.push(expr),
            Err(err) => errors.push(syn::Error::new(
                err.span(),
                format!("expected one expression that gives a RequestHandler, like `#[{name}(authenticate())]`"),
            )),
        }
        false
    });
    errors.finish().map(|()| companions)
}

/// A companion attribute met before the route attribute it goes with (`#[request_handler(h)]` above
/// `#[route_get("/p")]`): the item again, with the companion moved just after the route attribute, so
/// that the route attribute, expanded next, takes it. Without a route attribute, an error.
pub fn companion_first(name: &str, attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut function = syn::parse2::<ItemFn>(item)?;
    let Some(route_at) = function.attrs.iter().position(|a| route_attribute_method(a).is_some()) else {
        return Err(syn::Error::new(Span::call_site(), COMPANION_ALONE));
    };
    let name = Ident::new(name, Span::call_site());
    function.attrs.insert(route_at + 1, syn::parse_quote!(#[#name(#attr)]));
    Ok(quote::ToTokens::into_token_stream(function))
}
