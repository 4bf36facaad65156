//! Expansion: the item as written (route attributes taken off a controller's methods), plus what
//! registers its routes: an `inventory` submission per static route, and for a controller the
//! `sisk::routing::Controller` impl that builds its instance routes.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, Ident, Signature};

use crate::ast::{Companions, Controller, RouteArgs, RouteFn};

/// A free function and the submission of its route.
pub fn route_fn(route: &RouteFn) -> TokenStream {
    let function = &route.function;
    let name = &function.sig.ident;
    let path = route.args.path.as_ref().map_or_else(|| "/".to_owned(), |lit| lit.value());
    let call = static_call(&function.sig, quote!(#name));
    let build = build_route(&route.args, &route.companions, &path, call, quote!(::core::stringify!(#name)));
    quote! {
        #function

        const _: () = {
            fn build() -> ::sisk::routing::Route {
                #build
            }
            ::sisk::__private::inventory::submit! {
                ::sisk::__private::StaticRoute { build, controller: ::core::option::Option::None }
            }
        };
    }
}

/// A controller's `impl` block, the submissions of its static routes and its `Controller` impl.
pub fn controller(controller: &Controller) -> TokenStream {
    let item = &controller.item;
    let self_ty = &item.self_ty;
    let mut statics = Vec::new();
    let mut instance_routes = Vec::new();
    let mut instance_names = Vec::new();
    for (index, route) in controller.routes.iter().enumerate() {
        let name = &route.sig.ident;
        let path = controller.full_path(route);
        let label = quote!(::core::concat!(::core::stringify!(#self_ty), "::", ::core::stringify!(#name)));
        if takes_self(&route.sig) {
            let call = instance_call(&route.sig);
            instance_routes.push(build_route(&route.args, &route.companions, &path, call, label));
            instance_names.push(name.to_string());
        } else {
            let build_fn = format_ident!("build_{}", index);
            let call = static_call(&route.sig, quote!(<#self_ty>::#name));
            let build = build_route(&route.args, &route.companions, &path, call, label);
            statics.push(quote! {
                fn #build_fn() -> ::sisk::routing::Route {
                    #build
                }
                ::sisk::__private::inventory::submit! {
                    ::sisk::__private::StaticRoute {
                        build: #build_fn,
                        controller: ::core::option::Option::Some(::core::any::TypeId::of::<#self_ty>),
                    }
                }
            });
        }
    }
    quote! {
        #item

        impl ::sisk::routing::Controller for #self_ty {
            const __INSTANCE_ROUTES: &'static [&'static str] = &[#(#instance_names),*];

            fn __instance_routes(self: ::std::sync::Arc<Self>) -> ::std::vec::Vec<::sisk::routing::Route> {
                ::std::vec![#(#instance_routes),*]
            }
        }

        const _: () = {
            #(#statics)*
        };
    }
}

/// A `Controller` impl without routes, emitted beside the errors of a controller that did not pass the
/// checks.
pub fn controller_stub(self_ty: &syn::Type) -> TokenStream {
    quote! {
        impl ::sisk::routing::Controller for #self_ty {
            const __INSTANCE_ROUTES: &'static [&'static str] = &[];

            fn __instance_routes(self: ::std::sync::Arc<Self>) -> ::std::vec::Vec<::sisk::routing::Route> {
                ::std::vec::Vec::new()
            }
        }
    }
}

/// `Route::new(RouteMethod::X, path, call).with_name(module::label)`, then its request handlers and
/// bypassed global handlers.
fn build_route(
    args: &RouteArgs,
    companions: &Companions,
    path: &str,
    call: TokenStream,
    label: TokenStream,
) -> TokenStream {
    let method: &Ident = &args.method;
    let handlers = &companions.request_handlers;
    let bypassed = &companions.bypassed;
    let without_cors = args.cors.use_cors.as_ref().filter(|use_cors| !use_cors.value).map(|_| quote!(.without_cors()));
    let with_cors = args.cors.policy.as_ref().map(|policy| quote!(.with_cors(#policy())));
    quote! {
        ::sisk::routing::Route::new(::sisk::routing::RouteMethod::#method, #path, #call)
            .with_name(::core::concat!(::core::module_path!(), "::", #label))
            #(.with_request_handler(#handlers))*
            #(.bypass_global_request_handler(&#bypassed))*
            #without_cors
            #with_cors
    }
}

/// What calls a function without `self`: the function itself if async, else a closure that runs it on
/// the blocking pool.
fn static_call(sig: &Signature, function: TokenStream) -> TokenStream {
    if sig.asyncness.is_some() {
        function
    } else {
        quote!(|req: ::sisk::http::HttpRequest| ::sisk::__private::run_blocking(move || #function(req)))
    }
}

/// A closure that calls a `&self` method on the controller (`self`, an `Arc`, in `__instance_routes`).
fn instance_call(sig: &Signature) -> TokenStream {
    let name = &sig.ident;
    let call = if sig.asyncness.is_some() {
        quote!(async move { this.#name(req).await })
    } else {
        quote!(::sisk::__private::run_blocking(move || this.#name(req)))
    };
    quote! {{
        let controller = ::std::sync::Arc::clone(&self);
        move |req: ::sisk::http::HttpRequest| {
            let this = ::std::sync::Arc::clone(&controller);
            #call
        }
    }}
}

fn takes_self(sig: &Signature) -> bool {
    matches!(sig.inputs.first(), Some(FnArg::Receiver(_)))
}
