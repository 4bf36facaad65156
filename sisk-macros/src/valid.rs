//! Checks: paths follow the router's rules (the same code the router runs), and functions have a shape a
//! route can call. Every mistake is reported at its own token, all in one build.

use syn::{FnArg, LitStr, PatType, Receiver, Signature, Type};

use crate::ast::{Controller, RouteFn};
use crate::errors::Errors;

/// Checks a route on a free function.
pub fn route_fn(route: &RouteFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Some(lit) = &route.args.path {
        check_path(&mut errors, lit, &lit.value());
    }
    let sig = &route.function.sig;
    check_generics(&mut errors, sig);
    match sig.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(argument)] => check_request_type(&mut errors, argument),
        [FnArg::Receiver(receiver), ..] => errors.push(syn::Error::new_spanned(
            receiver,
            "a route on a method belongs to a controller: put #[route_prefix(\"/…\")] on its `impl` block",
        )),
        _ => errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "a route function takes exactly one argument: `req: HttpRequest`",
        )),
    }
    errors.finish()
}

/// Checks a controller: its prefix, the `impl` block, and every route method with its full path.
pub fn controller(controller: &Controller) -> syn::Result<()> {
    let mut errors = Errors::default();
    let prefix_valid = controller.prefix.as_ref().is_none_or(|lit| check_path(&mut errors, lit, &lit.value()));
    if !controller.item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&controller.item.generics, "a controller cannot be generic"));
    }
    for route in &controller.routes {
        let path_valid = route.args.path.as_ref().is_none_or(|lit| check_path(&mut errors, lit, &lit.value()));
        if let (Some(prefix), true) = (&controller.prefix, prefix_valid && path_valid) {
            if let Err(why) = sisk_route_syntax::parse(&controller.full_path(route)) {
                let at = route.args.path.as_ref().unwrap_or(prefix);
                errors.push(syn::Error::new_spanned(at, format!("after the prefix `{}`: {why}", prefix.value())));
            }
        }
        check_generics(&mut errors, &route.sig);
        match route.sig.inputs.iter().collect::<Vec<_>>().as_slice() {
            [FnArg::Typed(argument)] => check_request_type(&mut errors, argument),
            [FnArg::Receiver(receiver), FnArg::Typed(argument)] => {
                check_receiver(&mut errors, receiver);
                check_request_type(&mut errors, argument);
            }
            _ => errors.push(syn::Error::new_spanned(
                &route.sig.inputs,
                "a controller route takes `req: HttpRequest`, after `&self` if it needs the controller",
            )),
        }
    }
    errors.finish()
}

/// Reports an invalid path at its literal; true when the path is valid.
fn check_path(errors: &mut Errors, at: &LitStr, value: &str) -> bool {
    match sisk_route_syntax::parse(value) {
        Ok(_) => true,
        Err(why) => {
            errors.push(syn::Error::new_spanned(at, why));
            false
        }
    }
}

fn check_generics(errors: &mut Errors, sig: &Signature) {
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, "a route function cannot be generic"));
    }
}

/// The request is taken by value, as `HttpRequest` (any path to it): a reference or another type is
/// reported at the type, with the signature a route has, instead of a trait error at code the user never
/// wrote.
fn check_request_type(errors: &mut Errors, argument: &PatType) {
    let by_value = match &*argument.ty {
        Type::Path(path) => path.qself.is_none() && path.path.segments.last().is_some_and(|s| s.ident == "HttpRequest"),
        _ => false,
    };
    if by_value {
        return;
    }
    let message = match &*argument.ty {
        Type::Reference(_) => {
            "a route takes the request by value, `req: HttpRequest` (a cheap handle: clone it to keep or share it)"
        }
        _ => {
            "a route takes `req: HttpRequest` and reads what it needs from it \
             (`req.route_parameter(\"id\")`, `req.query()`, `req.body_string().await?`)"
        }
    };
    errors.push(syn::Error::new_spanned(&argument.ty, message));
}

/// Only `&self`: the router shares one controller between requests, so it cannot hand out `self` or
/// `&mut self`.
fn check_receiver(errors: &mut Errors, receiver: &Receiver) {
    let shared_ref = receiver.reference.is_some() && receiver.mutability.is_none() && receiver.colon_token.is_none();
    if !shared_ref {
        errors.push(syn::Error::new_spanned(
            receiver,
            "a controller route takes `&self`: requests share the controller, so keep mutable state behind a \
             Mutex or an atomic",
        ));
    }
}
