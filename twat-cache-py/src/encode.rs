//! The deterministic encoding of arguments: persistent keys, and memory keys of
//! unhashable arguments.
//!
//! Python's `hash()` of `str` and `bytes` is salted per process, so a persistent key can
//! never use it. Each value is written as a one-byte tag and its content, lengths as
//! 8-byte little-endian integers:
//!
//! | value | encoding |
//! |---|---|
//! | `None`, `True`, `False` | `n`, `T`, `F` |
//! | `int` | `i` + 8 bytes (when it fits an `i64`), else `I` + length + two's complement bytes |
//! | `float` | `f` + the IEEE bits (`-0.0` written as `0.0`, every NaN as one NaN) |
//! | `complex` | `c` + the two floats |
//! | `str`, `bytes`, `bytearray` | `s`, `b`, `a` + length + UTF-8 / the bytes |
//! | `tuple`, `list` | `t`, `l` + count + items |
//! | `dict` | `d` + count + (key, value) pairs sorted by the key's encoding |
//! | `set`, `frozenset` | `S` + count + items sorted by encoding (equal sets, equal bytes) |
//! | `Enum` member | `E` + the class's `module.qualname` + the member's name |
//! | dataclass instance | `D` + the class's `module.qualname` + count + (field name, value) |
//!
//! A call is `t` + the positional arguments, then `k` + count + (name, value) for its
//! keywords sorted by name. Anything else has no deterministic encoding: `TypeError`,
//! naming the argument and suggesting `key=callable`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet,
    PyString, PyTuple, PyType,
};

use crate::key::sorted_kwargs;

/// Nesting deeper than this is refused (it also stops self-containing lists).
const MAX_DEPTH: usize = 64;

/// The function's name and its positional parameter names, for error messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArgNames {
    /// The function's qualified name.
    pub(crate) function: String,
    /// Positional parameter names, in order.
    pub(crate) positional: Vec<String>,
}

impl ArgNames {
    fn describe_positional(&self, index: usize) -> String {
        match self.positional.get(index) {
            Some(name) => format!("argument '{name}'"),
            None => format!("positional argument #{}", index + 1),
        }
    }
}

/// Why a value could not be encoded: its type and where it sits inside the argument.
struct Unencodable {
    type_name: String,
    path: String,
}

/// Encodes a call's arguments (positional, then keywords sorted by name).
///
/// # Errors
///
/// `TypeError` naming the argument that has no encoding.
pub(crate) fn encode_call(
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    names: &ArgNames,
) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.push(b't');
    write_len(&mut out, args.len());
    for (index, arg) in args.iter().enumerate() {
        encode_into(&arg, &mut out, 0)
            .map_err(|err| argument_error(names, &names.describe_positional(index), &err))?;
    }
    if let Some(kwargs) = kwargs.filter(|kw| !kw.is_empty()) {
        out.push(b'k');
        write_len(&mut out, kwargs.len());
        for (name, value) in sorted_kwargs(kwargs)? {
            let name_text = name.to_str()?;
            write_str(&mut out, name_text);
            encode_into(&value, &mut out, 0).map_err(|err| {
                argument_error(names, &format!("keyword argument '{name_text}'"), &err)
            })?;
        }
    }
    Ok(out)
}

/// Encodes one value (a `CacheContext` key, or what a `key=` callable returned).
///
/// # Errors
///
/// `TypeError` naming `what` when the value has no encoding.
pub(crate) fn encode_one(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    encode_into(value, &mut out, 0).map_err(|err| {
        PyTypeError::new_err(format!(
            "twat_cache: {what} {} has no deterministic encoding; use None, bool, int, float, \
             str, bytes, tuple, list, dict, set, frozenset, a dataclass or an Enum",
            err.describe()
        ))
    })?;
    Ok(out)
}

impl Unencodable {
    fn describe(&self) -> String {
        if self.path.is_empty() {
            format!("(a {})", self.type_name)
        } else {
            format!("(a {} at {})", self.type_name, self.path)
        }
    }
}

fn argument_error(names: &ArgNames, which: &str, err: &Unencodable) -> PyErr {
    PyTypeError::new_err(format!(
        "twat_cache: {which} of {}() {} cannot be part of a cache key: it has no deterministic \
         encoding (None, bool, int, float, str, bytes, tuple, list, dict, set, frozenset, \
         dataclass and Enum values do); pass key=callable to the decorator to build the key \
         yourself, e.g. key=lambda *args, **kwargs: ...",
        names.function,
        err.describe()
    ))
}

fn write_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    write_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn write_f64(out: &mut Vec<u8>, value: f64) {
    let canonical = if value == 0.0 {
        0.0
    } else if value.is_nan() {
        f64::NAN
    } else {
        value
    };
    out.extend_from_slice(&canonical.to_bits().to_le_bytes());
}

fn unencodable(value: &Bound<'_, PyAny>) -> Unencodable {
    Unencodable {
        type_name: value
            .get_type()
            .qualname()
            .map_or_else(|_| "value".to_owned(), |name| name.to_string()),
        path: String::new(),
    }
}

/// Prefixes the location of a nested failure with `step` (`[2]`, `['k']`, `.field`).
fn nested(step: String) -> impl FnOnce(Unencodable) -> Unencodable {
    move |mut err| {
        // Deep paths (a list containing itself) keep their innermost 60 characters.
        err.path = if err.path.len() > 60 {
            err.path.clone()
        } else {
            format!("{step}{}", err.path)
        };
        err
    }
}

fn encode_into(
    value: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), Unencodable> {
    if depth > MAX_DEPTH {
        return Err(Unencodable {
            type_name: "value nested too deeply (or containing itself)".to_owned(),
            path: String::new(),
        });
    }
    let py = value.py();
    if value.is_none() {
        out.push(b'n');
    } else if let Ok(flag) = value.cast::<PyBool>() {
        out.push(if flag.is_true() { b'T' } else { b'F' });
    } else if is_enum_member(value) {
        out.push(b'E');
        write_str(
            out,
            &qualified_type_name(value).ok_or_else(|| unencodable(value))?,
        );
        let member = value
            .getattr("name")
            .and_then(|name| name.extract::<String>())
            .map_err(|_| unencodable(value))?;
        write_str(out, &member);
    } else if let Ok(int) = value.cast::<PyInt>() {
        encode_int(int, out).map_err(|_| unencodable(value))?;
    } else if let Ok(float) = value.cast::<PyFloat>() {
        out.push(b'f');
        write_f64(out, float.value());
    } else if let Ok(complex) = value.cast::<PyComplex>() {
        out.push(b'c');
        write_f64(out, complex.real());
        write_f64(out, complex.imag());
    } else if let Ok(text) = value.cast::<PyString>() {
        out.push(b's');
        match text.to_str() {
            Ok(text) => write_str(out, text),
            // Lone surrogates: their "surrogatepass" UTF-8 bytes are still deterministic.
            Err(_) => {
                let bytes = text
                    .call_method1("encode", ("utf-8", "surrogatepass"))
                    .map_err(|_| unencodable(value))?;
                let bytes = bytes.cast::<PyBytes>().map_err(|_| unencodable(value))?;
                write_len(out, bytes.as_bytes().len());
                out.extend_from_slice(bytes.as_bytes());
            }
        }
    } else if let Ok(bytes) = value.cast::<PyBytes>() {
        out.push(b'b');
        write_len(out, bytes.as_bytes().len());
        out.extend_from_slice(bytes.as_bytes());
    } else if let Ok(array) = value.cast::<PyByteArray>() {
        out.push(b'a');
        let bytes = array.to_vec();
        write_len(out, bytes.len());
        out.extend_from_slice(&bytes);
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        out.push(b't');
        write_len(out, tuple.len());
        for (index, item) in tuple.iter().enumerate() {
            encode_into(&item, out, depth + 1).map_err(nested(format!("[{index}]")))?;
        }
    } else if let Ok(list) = value.cast::<PyList>() {
        out.push(b'l');
        write_len(out, list.len());
        for (index, item) in list.iter().enumerate() {
            encode_into(&item, out, depth + 1).map_err(nested(format!("[{index}]")))?;
        }
    } else if let Ok(dict) = value.cast::<PyDict>() {
        let mut pairs = Vec::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let mut key_bytes = Vec::new();
            encode_into(&key, &mut key_bytes, depth + 1).map_err(nested("<a key>".to_owned()))?;
            let mut item_bytes = Vec::new();
            let step = format!(
                "[{}]",
                key.repr()
                    .map_or_else(|_| "?".to_owned(), |r| r.to_string())
            );
            encode_into(&item, &mut item_bytes, depth + 1).map_err(nested(step))?;
            pairs.push((key_bytes, item_bytes));
        }
        pairs.sort_unstable();
        out.push(b'd');
        write_len(out, pairs.len());
        for (key_bytes, item_bytes) in pairs {
            out.extend_from_slice(&key_bytes);
            out.extend_from_slice(&item_bytes);
        }
    } else if value.cast::<PySet>().is_ok() || value.cast::<PyFrozenSet>().is_ok() {
        let mut items = Vec::new();
        for item in value.try_iter().map_err(|_| unencodable(value))? {
            let item = item.map_err(|_| unencodable(value))?;
            let mut item_bytes = Vec::new();
            encode_into(&item, &mut item_bytes, depth + 1)
                .map_err(nested("<an item>".to_owned()))?;
            items.push(item_bytes);
        }
        items.sort_unstable();
        out.push(b'S');
        write_len(out, items.len());
        for item in items {
            out.extend_from_slice(&item);
        }
    } else if let Some(fields) = dataclass_fields(py, value) {
        out.push(b'D');
        write_str(
            out,
            &qualified_type_name(value).ok_or_else(|| unencodable(value))?,
        );
        write_len(out, fields.len());
        for field in fields {
            write_str(out, &field);
            let item = value
                .getattr(field.as_str())
                .map_err(|_| unencodable(value))?;
            encode_into(&item, out, depth + 1).map_err(nested(format!(".{field}")))?;
        }
    } else {
        return Err(unencodable(value));
    }
    Ok(())
}

fn encode_int(int: &Bound<'_, PyInt>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(small) = int.extract::<i64>() {
        out.push(b'i');
        out.extend_from_slice(&small.to_le_bytes());
        return Ok(());
    }
    let bits: usize = int.call_method0("bit_length")?.extract()?;
    let length = bits / 8 + 1;
    let kwargs = PyDict::new(int.py());
    kwargs.set_item("signed", true)?;
    let bytes = int.call_method("to_bytes", (length, "little"), Some(&kwargs))?;
    let bytes = bytes.cast::<PyBytes>()?;
    out.push(b'I');
    write_len(out, bytes.as_bytes().len());
    out.extend_from_slice(bytes.as_bytes());
    Ok(())
}

fn is_enum_member(value: &Bound<'_, PyAny>) -> bool {
    static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    ENUM.import(value.py(), "enum", "Enum")
        .is_ok_and(|enum_type| value.is_instance(enum_type).unwrap_or(false))
}

fn qualified_type_name(value: &Bound<'_, PyAny>) -> Option<String> {
    let ty = value.get_type();
    let module = ty.module().ok()?;
    let qualname = ty.qualname().ok()?;
    Some(format!("{module}.{qualname}"))
}

/// The field names of a dataclass instance, in definition order; `None` for anything else.
fn dataclass_fields(py: Python<'_>, value: &Bound<'_, PyAny>) -> Option<Vec<String>> {
    if value.is_instance_of::<PyType>() || !value.hasattr("__dataclass_fields__").unwrap_or(false) {
        return None;
    }
    static FIELDS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let fields = FIELDS.import(py, "dataclasses", "fields").ok()?;
    let mut names = Vec::new();
    for field in fields.call1((value,)).ok()?.try_iter().ok()? {
        names.push(field.ok()?.getattr("name").ok()?.extract::<String>().ok()?);
    }
    Some(names)
}
