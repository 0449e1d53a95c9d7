//! Python objects that leave a memory cache while one of its locks is held.
//!
//! Dropping the last reference to a Python object runs its finalizer (`__del__`, weakref
//! callbacks), which is Python code: the interpreter may switch threads in it, and a
//! thread that then waits for the lock while holding the GIL would deadlock. So evicted,
//! replaced and cleared keys and values are moved here instead, and released by
//! [`empty`] once the lock is no longer held.

use parking_lot::Mutex;
use pyo3::prelude::*;

static GRAVEYARD: Mutex<Vec<Py<PyAny>>> = Mutex::new(Vec::new());

/// Keeps `object` alive until the next [`empty`].
pub(crate) fn bury(object: Py<PyAny>) {
    GRAVEYARD.lock().push(object);
}

/// Releases every buried object. Call it attached, with no cache lock held.
pub(crate) fn empty(_py: Python<'_>) {
    let dead = std::mem::take(&mut *GRAVEYARD.lock());
    drop(dead);
}
