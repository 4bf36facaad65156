//! Expansion: the function as written, plus its registration with `inventory`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::RouteFn;

/// Emits the function and a `const _` block that submits its route.
pub fn expand(route: &RouteFn) -> TokenStream {
    let function = &route.function;
    let name = &function.sig.ident;
    let method = &route.method;
    let path = route.path.as_ref().map_or_else(|| "/".to_owned(), |lit| lit.value());
    let call = if function.sig.asyncness.is_some() {
        quote!(#name)
    } else {
        quote!(|req: ::sisk::http::HttpRequest| ::sisk::__private::run_blocking(move || #name(req)))
    };
    quote! {
        #function

        const _: () = {
            fn build() -> ::sisk::routing::Route {
                ::sisk::routing::Route::new(::sisk::routing::RouteMethod::#method, #path, #call)
                    .with_name(::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)))
            }
            ::sisk::__private::inventory::submit! {
                ::sisk::__private::StaticRoute { build }
            }
        };
    }
}
