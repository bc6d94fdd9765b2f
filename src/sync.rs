//! Locks that outlast a panic elsewhere: every value shared here behind a mutex (the player, the voice, a
//! reply id) stays whole if a thread panicked holding it, so a poisoned lock is taken as it is rather than
//! ending the conversation too.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
