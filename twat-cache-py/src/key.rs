//! Keys of the memory caches: the arguments' own hash and equality, as `functools` does,
//! or — when an argument is unhashable — their deterministic encoding (`encode.rs`).
//!
//! The memory engine compares keys while it holds a shard lock. A comparison that runs
//! Python code (`__eq__` written in Python) could let the interpreter switch threads with
//! that lock held, and a thread that then waits for the lock while holding the GIL would
//! deadlock. So a key is compared by Python equality only when every part of it compares
//! in C without running Python code: `None`, `bool`, `int`, `float`, `complex`, `str`,
//! `bytes`, tuples and frozensets of those, and objects whose type compares by identity
//! (no `__eq__` of its own) or with a C `__eq__` (`datetime`, `Decimal`, NumPy scalars).
//! Anything else (a dataclass, a list, a dict) is keyed on its encoding, which is compared
//! byte by byte. Hashes are computed before the lock is taken, so a Python `__hash__` is
//! harmless.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyString, PyTuple, PyType,
};

use crate::encode::{ArgNames, encode_call};
use crate::graveyard::bury;

/// A memory cache's key: a Python object compared by Python equality, or encoded bytes.
pub(crate) struct PyKey {
    hash: u64,
    repr: KeyRepr,
}

enum KeyRepr {
    /// A tuple (the arguments, or the arguments with their sorted keywords) whose parts
    /// all compare in C.
    Native(Option<Py<PyAny>>),
    /// The deterministic encoding of the arguments.
    Encoded(Box<[u8]>),
}

impl PyKey {
    /// The key for `key_object`, as made by [`key_object`]: a tuple is compared by
    /// Python equality, `bytes` byte by byte.
    pub(crate) fn from_key_object(key_object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = key_object.cast_exact::<PyBytes>() {
            return Ok(Self::encoded(bytes.as_bytes()));
        }
        Ok(Self {
            hash: to_u64(key_object.hash()?),
            repr: KeyRepr::Native(Some(key_object.clone().unbind())),
        })
    }

    fn encoded(bytes: &[u8]) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        bytes.hash(&mut hasher);
        Self {
            hash: hasher.finish(),
            repr: KeyRepr::Encoded(bytes.into()),
        }
    }

    /// The key of a call with `args` and `kwargs` (see [`key_object`]), without building
    /// the intermediate Python object when the arguments are already a native tuple.
    pub(crate) fn for_call(
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        names: &ArgNames,
    ) -> PyResult<Self> {
        if kwargs.is_none_or(PyDictMethods::is_empty) && all_native(args.as_any()) {
            // The hit path: the argument tuple itself is the key (one hash, no copy).
            if let Ok(hash) = args.hash() {
                return Ok(Self {
                    hash: to_u64(hash),
                    repr: KeyRepr::Native(Some(args.clone().into_any().unbind())),
                });
            }
        }
        Self::from_key_object(&key_object(args, kwargs, names)?)
    }
}

/// The Python object that stands for a call's arguments in a memory cache: a tuple of the
/// arguments (then a marker and the keyword pairs sorted by name) when every part compares
/// in C and hashes, else the `bytes` of their deterministic encoding.
///
/// # Errors
///
/// `TypeError` naming the argument when it neither hashes nor has an encoding.
pub(crate) fn key_object<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
    names: &ArgNames,
) -> PyResult<Bound<'py, PyAny>> {
    let py = args.py();
    let candidate = match kwargs.filter(|kw| !kw.is_empty()) {
        None => args.clone().into_any(),
        Some(kwargs) => {
            let mut parts: Vec<Bound<'py, PyAny>> = args.iter().collect();
            parts.push(keyword_marker(py).clone());
            for (name, value) in sorted_kwargs(kwargs)? {
                parts.push(name.into_any());
                parts.push(value);
            }
            PyTuple::new(py, parts)?.into_any()
        }
    };
    if all_native(&candidate) && candidate.hash().is_ok() {
        return Ok(candidate);
    }
    Ok(PyBytes::new(py, &encode_call(args, kwargs, names)?).into_any())
}

/// The keyword arguments sorted by name (keyword order never matters).
pub(crate) fn sorted_kwargs<'py>(
    kwargs: &Bound<'py, PyDict>,
) -> PyResult<Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>> {
    let mut pairs = Vec::with_capacity(kwargs.len());
    for (name, value) in kwargs.iter() {
        pairs.push((name.cast_into::<PyString>()?, value));
    }
    pairs.sort_by(|(a, _), (b, _)| {
        a.to_str()
            .unwrap_or_default()
            .cmp(b.to_str().unwrap_or_default())
    });
    Ok(pairs)
}

/// Separates positional arguments from keyword pairs in a key tuple; compares by identity.
fn keyword_marker(py: Python<'_>) -> &Bound<'_, PyAny> {
    static MARKER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    MARKER
        .get_or_init(py, || {
            // A plain `object()`: hashes and compares by identity, in C.
            py.eval(c"object()", None, None)
                .map_or_else(|_| py.None(), Bound::unbind)
        })
        .bind(py)
}

fn to_u64(hash: isize) -> u64 {
    // The bits of Python's hash; the sign carries no meaning here.
    hash as u64
}

/// Whether `object` (recursively, for tuples and frozensets) compares without running
/// Python code.
fn all_native(object: &Bound<'_, PyAny>) -> bool {
    if object.is_none()
        || object.is_exact_instance_of::<PyInt>()
        || object.is_exact_instance_of::<PyString>()
        || object.is_exact_instance_of::<PyFloat>()
        || object.is_exact_instance_of::<PyBool>()
        || object.is_exact_instance_of::<PyBytes>()
        || object.is_exact_instance_of::<PyComplex>()
    {
        return true;
    }
    // Containers compare their items: those must compare in C too. A subclass (a
    // namedtuple) must also keep the C `__eq__`.
    if let Ok(tuple) = object.cast::<PyTuple>() {
        return (tuple.is_exact_instance_of::<PyTuple>() || type_compares_in_c(&tuple.get_type()))
            && tuple.iter().all(|part| all_native(&part));
    }
    if let Ok(set) = object.cast::<PyFrozenSet>() {
        return (set.is_exact_instance_of::<PyFrozenSet>() || type_compares_in_c(&set.get_type()))
            && set.iter().all(|part| all_native(&part));
    }
    type_compares_in_c(&object.get_type())
}

/// Per type address: the type (kept alive) and whether it compares in C.
type Verdicts = HashMap<usize, (Py<PyType>, bool)>;

/// Whether instances of `ty` compare by identity or by a C `__eq__` (memoized per type).
fn type_compares_in_c(ty: &Bound<'_, PyType>) -> bool {
    static VERDICTS: Mutex<Option<Verdicts>> = Mutex::new(None);
    let address = ty.as_ptr() as usize;
    if let Some((_, verdict)) = VERDICTS.lock().as_ref().and_then(|v| v.get(&address)) {
        return *verdict;
    }
    let py = ty.py();
    static SLOT_WRAPPER: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    // `type(obj).__eq__` is a C slot wrapper for identity (`object.__eq__`) and for C
    // types, and a Python function when a class (or a dataclass) defines its own.
    let verdict = SLOT_WRAPPER
        .import(py, "types", "WrapperDescriptorType")
        .ok()
        .zip(ty.getattr("__eq__").ok())
        .is_some_and(|(wrapper, eq)| eq.is_instance(wrapper).unwrap_or(false));
    // Keeping the type alive keeps its address from being reused by another type.
    let stored = (ty.clone().unbind(), verdict);
    let mut verdicts = VERDICTS.lock();
    if let Some(old) = verdicts
        .get_or_insert_with(HashMap::new)
        .insert(address, stored)
    {
        bury(old.0.into_any());
    }
    verdict
}

impl PyKey {
    /// Drops a key that never entered the cache (a lookup key) right away: it is not
    /// under any lock, so it skips the graveyard.
    pub(crate) fn discard(mut self) {
        if let KeyRepr::Native(object) = &mut self.repr {
            drop(object.take());
        }
    }
}

impl Hash for PyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for PyKey {
    fn eq(&self, other: &Self) -> bool {
        if self.hash != other.hash {
            return false;
        }
        match (&self.repr, &other.repr) {
            (KeyRepr::Encoded(a), KeyRepr::Encoded(b)) => a == b,
            (KeyRepr::Native(Some(a)), KeyRepr::Native(Some(b))) => {
                a.is(b) || Python::attach(|py| a.bind(py).eq(b.bind(py)).unwrap_or(false))
            }
            _ => false,
        }
    }
}

impl Eq for PyKey {}

impl Clone for PyKey {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            KeyRepr::Native(object) => KeyRepr::Native(Python::attach(|py| {
                object.as_ref().map(|o| o.clone_ref(py))
            })),
            KeyRepr::Encoded(bytes) => KeyRepr::Encoded(bytes.clone()),
        };
        Self {
            hash: self.hash,
            repr,
        }
    }
}

impl Drop for PyKey {
    fn drop(&mut self) {
        if let KeyRepr::Native(object) = &mut self.repr
            && let Some(object) = object.take()
        {
            bury(object);
        }
    }
}
