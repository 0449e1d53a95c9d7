//! The value codec: postcard, with a strict decoder.
//!
//! Why postcard: it is compact, stable across releases of its 1.x line, has no
//! schema files and works with any `serde` type. bincode, the usual alternative, is
//! unmaintained (its last release is a `compile_error!`).
//!
//! The decoder insists that the payload is consumed exactly. A stored value of another
//! type (the function's return type changed between program versions) usually leaves
//! bytes over or runs out early; either way it is a [`DecodeError`], which engines treat
//! as a miss, never as a wrong value. Postcard carries no type information, so some
//! changes still decode (a `(u8, u8)` read back as a one-character `String`); callers that
//! know the value's type therefore also put a type fingerprint in the key namespace (see
//! [`type_fingerprint`](crate::type_fingerprint)), so a changed type never even finds the old entry.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, Error};

/// Serializes a value with postcard.
///
/// # Errors
///
/// [`Error::Encode`] when the value's `Serialize` implementation fails.
pub fn encode_value<V: Serialize + ?Sized>(value: &V) -> Result<Vec<u8>, Error> {
    postcard::to_stdvec(value).map_err(Error::unencodable_value)
}

/// Serializes a value with postcard, appending to `buffer`.
///
/// # Errors
///
/// [`Error::Encode`] when the value's `Serialize` implementation fails.
pub fn encode_value_into<V: Serialize + ?Sized>(
    value: &V,
    buffer: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    postcard::to_extend(value, buffer).map_err(Error::unencodable_value)
}

/// Deserializes a value that [`encode_value`] wrote, requiring every byte to be used.
///
/// ```
/// use twat_cache_core::{decode_value, encode_value};
///
/// let bytes = encode_value(&vec![1.5_f64, 2.5]).unwrap();
/// let back: Vec<f64> = decode_value(&bytes).unwrap();
/// assert_eq!(back, [1.5, 2.5]);
/// // The same bytes read as another type are an error, not a wrong value.
/// assert!(decode_value::<String>(&bytes).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError::Payload`] when the bytes are not a whole value of type `V`.
pub fn decode_value<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, DecodeError> {
    match postcard::take_from_bytes::<V>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::payload_message(format_args!(
            "{} trailing bytes after the value",
            rest.len()
        ))),
        Err(err) => Err(DecodeError::payload(err)),
    }
}

/// Encodes a byte buffer exactly as postcard encodes a `Vec<u8>` (`varint(len) ‖ bytes`),
/// with one copy instead of serde's per-byte calls.
///
/// ```
/// use twat_cache_core::{encode_byte_buf, encode_value};
///
/// let bytes = vec![7_u8; 300];
/// assert_eq!(encode_byte_buf(&bytes), encode_value(&bytes).unwrap());
/// ```
#[must_use]
pub fn encode_byte_buf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 10);
    crate::key::inline::push_varint(&mut out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

/// Decodes what [`encode_byte_buf`] (or postcard, for a `Vec<u8>`) wrote, strictly: the
/// length must match the bytes present exactly.
///
/// # Errors
///
/// [`DecodeError::Payload`] when the length is truncated, overflows, or disagrees with
/// the number of bytes present.
pub fn decode_byte_buf(payload: Vec<u8>) -> Result<Vec<u8>, DecodeError> {
    let mut len: u64 = 0;
    let mut header = 0;
    loop {
        let Some(&byte) = payload.get(header) else {
            return Err(DecodeError::payload_message(
                "byte buffer length is truncated",
            ));
        };
        if header == 9 && byte > 1 {
            return Err(DecodeError::payload_message("byte buffer length overflows"));
        }
        len |= u64::from(byte & 0x7f) << (7 * header);
        header += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let present = payload.len() - header;
    if u64::try_from(present).ok() != Some(len) {
        return Err(DecodeError::payload_message(format_args!(
            "byte buffer says {len} bytes, {present} are stored"
        )));
    }
    let mut bytes = payload;
    bytes.drain(..header);
    Ok(bytes)
}
