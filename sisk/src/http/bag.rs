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

    /// A clone of the value of type `T`, made by `make` and stored first if there was none (Sisk's
    /// `GetOrAdd`): the instance one request shares among its handlers and its action.
    ///
    /// ```
    /// # use sisk::http::RequestBag;
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Connection(u32);
    ///
    /// let bag = RequestBag::default();
    /// assert_eq!(bag.get_or_add(|| Connection(1)), Connection(1));
    /// assert_eq!(bag.get_or_add(|| Connection(2)), Connection(1), "made once per request");
    /// ```
    pub fn get_or_add<T: Clone + Send + Sync + 'static>(&self, make: impl FnOnce() -> T) -> T {
        if let Some(found) = self.get::<T>() {
            return found;
        }
        // Made outside the lock (it may be slow, or reach for the bag itself); the first value stored wins.
        let made = make();
        self.lock().get_or_insert(made).clone()
    }

    /// [`get_or_add`](Self::get_or_add) with an async `make` (Sisk's `GetOrAddAsync`), awaited without
    /// holding the bag: if two tasks of one request make a value at once, the first stored is kept and
    /// both get it.
    pub async fn get_or_add_async<T, F, Fut>(&self, make: F) -> T
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        if let Some(found) = self.get::<T>() {
            return found;
        }
        let made = make().await;
        self.lock().get_or_insert(made).clone()
    }

    /// Takes the value of type `T` out.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().remove::<T>()
    }
}
