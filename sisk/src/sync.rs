//! The one rule for sisk's locks: every critical section leaves its state whole, so a lock poisoned by a
//! panic elsewhere is still usable, and these helpers take it either way.

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads `rwlock`, poisoned or not (as [`lock`]).
pub(crate) fn read<T>(rwlock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    rwlock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `rwlock`, poisoned or not (as [`lock`]).
pub(crate) fn write<T>(rwlock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    rwlock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
