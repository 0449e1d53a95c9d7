//! Byte buffers without a per-byte serde cost.
//!
//! postcard writes a `Vec<u8>` as `varint(len) ‖ bytes`, but serde drives it one element
//! at a time, which makes a 1 MiB value several times slower than a file read. For
//! `Vec<u8>` values the persistent paths write and read that same layout directly (one
//! `memcpy`), so stored bytes are identical either way and remain readable by
//! `decode_value::<Vec<u8>>`. Other types take the ordinary postcard path;
//! `serde_bytes::ByteBuf` is already fast there (it serializes as bytes).

use std::any::{Any, TypeId};

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::{DecodeError, Error, decode_value, encode_value};

/// Encodes `value` as postcard, with a single copy when it is a `Vec<u8>`.
pub(super) fn encode<V: Serialize + 'static>(value: &V) -> Result<Vec<u8>, Error> {
    match (value as &dyn Any).downcast_ref::<Vec<u8>>() {
        Some(bytes) => {
            let mut out = Vec::with_capacity(bytes.len() + 10);
            let mut len = bytes.len() as u64;
            while len >= 0x80 {
                out.push(u8::try_from(len & 0x7f).unwrap_or_default() | 0x80);
                len >>= 7;
            }
            out.push(u8::try_from(len).unwrap_or_default());
            out.extend_from_slice(bytes);
            Ok(out)
        }
        None => encode_value(value),
    }
}

/// Decodes a payload written by [`encode`] (or by `encode_value`), strictly: a
/// `Vec<u8>` must fill the payload exactly.
pub(super) fn decode<V: DeserializeOwned + 'static>(payload: Vec<u8>) -> Result<V, DecodeError> {
    if TypeId::of::<V>() != TypeId::of::<Vec<u8>>() {
        return decode_value(&payload);
    }
    let mut len: u64 = 0;
    let mut header = 0;
    loop {
        let Some(&byte) = payload.get(header) else {
            return Err(DecodeError::Payload(
                "byte buffer length is truncated".into(),
            ));
        };
        if header == 9 && byte > 1 {
            return Err(DecodeError::Payload("byte buffer length overflows".into()));
        }
        len |= u64::from(byte & 0x7f) << (7 * header);
        header += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    if u64::try_from(payload.len() - header).ok() != Some(len) {
        return Err(DecodeError::Payload(format!(
            "byte buffer says {len} bytes, {} are stored",
            payload.len() - header
        )));
    }
    let mut bytes = payload;
    bytes.drain(..header);
    let boxed: Box<dyn Any> = Box::new(bytes);
    boxed
        .downcast::<V>()
        .map(|value| *value)
        .map_err(|_| DecodeError::Payload("byte buffer type mismatch".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_buffers_match_postcard_exactly() {
        for len in [0_usize, 1, 127, 128, 300, 70_000] {
            let value: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let fast = encode(&value).unwrap();
            assert_eq!(fast, encode_value(&value).unwrap(), "len {len}");
            assert_eq!(decode::<Vec<u8>>(fast.clone()).unwrap(), value);
            assert_eq!(decode_value::<Vec<u8>>(&fast).unwrap(), value);
        }
    }

    #[test]
    fn damaged_byte_buffers_are_errors() {
        let mut stored = encode(&vec![7_u8; 200]).unwrap();
        stored.pop();
        assert!(decode::<Vec<u8>>(stored.clone()).is_err());
        stored.push(1);
        stored.push(2);
        assert!(decode::<Vec<u8>>(stored).is_err());
        assert!(decode::<Vec<u8>>(vec![0xff; 3]).is_err());
        assert!(decode::<Vec<u8>>(vec![0xff; 12]).is_err());
    }

    #[test]
    fn other_types_take_the_postcard_path() {
        let stored = encode(&vec![1_u16, 2]).unwrap();
        assert_eq!(decode::<Vec<u16>>(stored).unwrap(), [1, 2]);
    }
}
