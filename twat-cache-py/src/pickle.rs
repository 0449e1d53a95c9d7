//! Values of the persistent engines: pickle protocol 5 with out-of-band buffers.
//!
//! A stored payload is `b"TWP5"`, the buffer count (u32 LE), each buffer's length (u64
//! LE), the main pickle's length (u64 LE), the main pickle, then the buffers. A NumPy
//! array's data goes to its buffer without being copied into the pickle stream first,
//! and comes back as a writable `bytearray` the array is rebuilt over (one copy).
//!
//! A `str` or `bytes` result (exactly those types) is stored as `b"TWS1"` / `b"TWB1"` and
//! its UTF-8 / bytes: no unpickler is built on a hit (half the time of a small disk hit).

use std::io::Read;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString};

const MAGIC: &[u8; 4] = b"TWP5";
const MAGIC_STR: &[u8; 4] = b"TWS1";
const MAGIC_BYTES: &[u8; 4] = b"TWB1";

fn pickle_function<'py>(
    py: Python<'py>,
    name: &'static str,
    cell: &'static PyOnceLock<Py<PyAny>>,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.import(py, "pickle", name)
}

/// The tag and content of a `str` or `bytes` value, stored without pickle.
fn plain_content<'a>(value: &'a Bound<'_, PyAny>) -> Option<(&'static [u8; 4], &'a [u8])> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        return text.to_str().ok().map(|text| (MAGIC_STR, text.as_bytes()));
    }
    value
        .cast_exact::<PyBytes>()
        .ok()
        .map(|bytes| (MAGIC_BYTES, bytes.as_bytes()))
}

/// Pickles `value` into one `bytes` payload (see the module docs).
///
/// # Errors
///
/// Whatever `pickle.dumps` raises for a value it cannot pickle.
pub(crate) fn dumps<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = value.py();
    if let Some((magic, content)) = plain_content(value) {
        return PyBytes::new_with(py, magic.len() + content.len(), |payload| {
            // `payload` is exactly magic + content long.
            let (head, tail) = payload.split_at_mut(magic.len());
            head.copy_from_slice(magic);
            tail.copy_from_slice(content);
            Ok(())
        });
    }
    let buffers = PyList::empty(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item("protocol", 5)?;
    kwargs.set_item("buffer_callback", buffers.getattr("append")?)?;
    let main = pickle_function(py, "dumps", &DUMPS)?.call((value,), Some(&kwargs))?;
    let main = main.cast_into::<PyBytes>()?;
    let mut header = Vec::with_capacity(16 + 8 * buffers.len());
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(
        &u32::try_from(buffers.len())
            .map_err(|_| PyValueError::new_err("too many pickle buffers"))?
            .to_le_bytes(),
    );
    let parts = PyList::empty(py);
    let mut raws = Vec::with_capacity(buffers.len());
    for buffer in buffers.iter() {
        let raw = buffer.call_method0("raw")?;
        let length: u64 = raw.getattr("nbytes")?.extract()?;
        header.extend_from_slice(&length.to_le_bytes());
        raws.push(raw);
    }
    header.extend_from_slice(&(main.as_bytes().len() as u64).to_le_bytes());
    parts.append(PyBytes::new(py, &header))?;
    parts.append(main)?;
    for raw in raws {
        parts.append(raw)?;
    }
    // One copy of each buffer, into the payload.
    PyBytes::new(py, b"")
        .call_method1("join", (parts,))?
        .cast_into::<PyBytes>()
        .map_err(Into::into)
}

/// Unpickles a payload made by [`dumps`].
///
/// # Errors
///
/// As [`loads_from`].
pub(crate) fn loads<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let mut reader = payload;
    loads_from(py, &mut reader, false)
}

/// Unpickles a payload made by [`dumps`] as it streams from `reader` (read without the
/// GIL when `file_io`, else only for large reads); each out-of-band buffer is read straight into the `bytearray` it becomes.
///
/// # Errors
///
/// `ValueError` for a payload that is not one (truncated, trailing bytes, another format),
/// `OSError` when the reader fails (a damaged file), or whatever `pickle.loads` raises (a
/// class that no longer exists, …): the caller treats each as a miss.
pub(crate) fn loads_from<'py, R: Read + Send>(
    py: Python<'py>,
    reader: &mut R,
    file_io: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let read_exact = |reader: &mut R, buffer: &mut [u8]| {
        if file_io || buffer.len() >= 4096 {
            py.detach(|| reader.read_exact(buffer)).map_err(io_error)
        } else {
            reader.read_exact(buffer).map_err(io_error)
        }
    };
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let mut magic = [0_u8; 4];
    read_exact(reader, &mut magic)?;
    if magic == *MAGIC_STR || magic == *MAGIC_BYTES {
        let mut content = Vec::new();
        if file_io {
            py.detach(|| reader.read_to_end(&mut content))
                .map_err(io_error)?;
        } else {
            reader.read_to_end(&mut content).map_err(io_error)?;
        }
        if magic == *MAGIC_BYTES {
            return Ok(PyBytes::new(py, &content).into_any());
        }
        let text = std::str::from_utf8(&content).map_err(|_| corrupt())?;
        return Ok(PyString::new(py, text).into_any());
    }
    if magic != *MAGIC {
        return Err(corrupt());
    }
    let mut count = [0_u8; 4];
    read_exact(reader, &mut count)?;
    let count = u32::from_le_bytes(count) as usize;
    let mut lengths = vec![0_u8; 8 * (count + 1)];
    read_exact(reader, &mut lengths)?;
    let mut lengths = lengths
        .chunks_exact(8)
        .map(|chunk| {
            let mut bytes = [0_u8; 8];
            bytes.copy_from_slice(chunk);
            usize::try_from(u64::from_le_bytes(bytes)).map_err(|_| corrupt())
        })
        .collect::<PyResult<Vec<usize>>>()?;
    let main_length = lengths.pop().ok_or_else(corrupt)?;
    let main = PyBytes::new_with(py, main_length, |buffer| read_exact(reader, buffer))?;
    let mut buffers = Vec::with_capacity(lengths.len());
    for length in lengths {
        // One copy: from the file (or payload) into the buffer the value is rebuilt over.
        buffers.push(PyByteArray::new_with(py, length, |buffer| {
            read_exact(reader, buffer)
        })?);
    }
    // Nothing may follow; a streaming reader also checks the content's integrity here.
    let mut probe = [0_u8; 1];
    let trailing = if file_io {
        py.detach(|| reader.read(&mut probe))
    } else {
        reader.read(&mut probe)
    };
    if trailing.map_err(io_error)? != 0 {
        return Err(corrupt());
    }
    let loads = pickle_function(py, "loads", &LOADS)?;
    if buffers.is_empty() {
        return loads.call1((main,));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("buffers", PyList::new(py, buffers)?)?;
    loads.call((main,), Some(&kwargs))
}

fn corrupt() -> PyErr {
    PyValueError::new_err("twat_cache: stored value is truncated or not a twat_cache pickle")
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(io_error)`, which passes the error by value"
)]
fn io_error(err: std::io::Error) -> PyErr {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        corrupt()
    } else {
        PyOSError::new_err(format!("twat_cache: reading a stored value failed: {err}"))
    }
}
