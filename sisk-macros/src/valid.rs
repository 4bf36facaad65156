//! Checks: the path follows the router's rules, and the function has a shape a route can call.

use syn::FnArg;

use crate::ast::RouteFn;
use crate::path;

/// Every mistake in the route, combined into one error (each at its own token).
pub fn check(route: &RouteFn) -> syn::Result<()> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if let Some(lit) = &route.path {
        if let Err(why) = path::validate(&lit.value()) {
            errors.push(syn::Error::new_spanned(lit, why));
        }
    }
    let sig = &route.function.sig;
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, "a route function cannot be generic"));
    }
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    match inputs.as_slice() {
        [FnArg::Typed(_)] => {}
        [FnArg::Receiver(receiver)] => errors.push(syn::Error::new_spanned(
            receiver,
            "a route function on `self` needs a controller; on a free function take `req: HttpRequest`",
        )),
        _ => errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "a route function takes exactly one argument: `req: HttpRequest`",
        )),
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            for error in errors {
                first.combine(error);
            }
            Err(first)
        }
    }
}
