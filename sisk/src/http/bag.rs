//! [`RequestBag`]: values that request handlers hand to the action, one per type.

use std::sync::Mutex;

use http::Extensions;

/// A per-request store of values keyed by their type, shared by every clone of the request.
///
/// Request handlers put values in; the action takes them out. Values are cloned out, so store cheap
/// clones (an `Arc`, a small struct, an id).
///
/// ```
/// # use sisk::http::RequestBag;
/// #[derive(Clone, Debug, PartialEq)]
/// struct UserId(u64);
///
/// let bag = RequestBag::default();
/// bag.set(UserId(7));
/// assert_eq!(bag.get::<UserId>(), Some(UserId(7)));
/// assert!(bag.contains::<UserId>());
/// assert_eq!(bag.remove::<UserId>(), Some(UserId(7)));
/// assert_eq!(bag.get::<UserId>(), None);
/// ```
#[derive(Debug, Default)]
pub struct RequestBag(Mutex<Extensions>);

impl RequestBag {
    fn lock(&self) -> std::sync::MutexGuard<'_, Extensions> {
        // The map holds plain values; a panic elsewhere cannot leave it half-written.
        crate::sync::lock(&self.0)
    }

    /// Stores a value, returning the one of the same type it replaces.
    pub fn set<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.lock().insert(value)
    }

    /// A clone of the value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().get::<T>().cloned()
    }

    /// True when a value of type `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.lock().get::<T>().is_some()
    }

    /// Takes the value of type `T` out.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().remove::<T>()
    }
}
