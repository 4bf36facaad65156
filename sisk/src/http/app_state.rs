//! [`AppState`]: the values a program gives its server once (a store, a pool, a client), one per type,
//! that every handler reaches through the request with no clone per route.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::Error;

/// Values keyed by their type, given to the server's builder with
/// [`use_state`](crate::http::HttpServerHostContextBuilder::use_state) and read with
/// [`HttpRequest::state`](crate::http::HttpRequest::state) or [`HttpServer::state`](crate::http::HttpServer::state).
#[derive(Default)]
pub(crate) struct AppState(HashMap<TypeId, (&'static str, Arc<dyn Any + Send + Sync>)>);

impl AppState {
    /// Keeps `value`, replacing a value of the same type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), (std::any::type_name::<T>(), Arc::new(value)));
    }

    /// The value of type `T`, or an error that says how to give one.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|(_, value)| value.downcast_ref::<T>())
            .ok_or_else(|| Error::state_missing(std::any::type_name::<T>()))
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.values().map(|(name, _)| name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Store(u32);

    #[test]
    fn a_value_is_found_by_its_type_and_a_missing_one_says_how_to_give_it() {
        let mut state = AppState::default();
        state.insert(Store(1));
        state.insert(Store(2));
        assert_eq!(state.get::<Store>().unwrap(), &Store(2), "the later value replaces");
        let missing = state.get::<String>().unwrap_err();
        assert_eq!(missing.kind(), crate::ErrorKind::StateMissing);
        assert!(missing.to_string().contains("use_state"), "{missing}");
        assert!(format!("{state:?}").contains("Store"));
    }
}
