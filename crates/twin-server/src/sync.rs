//! Locks that outlast a panic elsewhere: the server's shared state behind a mutex (metrics, rate windows,
//! a reply's progress, the open rooms) stays whole if a task panicked holding it, so a poisoned lock is taken
//! as it is rather than taking every later connection down too.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
