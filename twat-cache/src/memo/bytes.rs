//! Byte buffers without a per-byte serde cost.
//!
//! serde drives a `Vec<u8>` one element at a time, which makes a 1 MiB value several
//! times slower than a file read. When a persistently cached function returns `Vec<u8>`,
//! the facade stores it through the engine's raw-bytes path
//! ([`ByteStore::set_raw_bytes`](twat_cache_core::ByteStore::set_raw_bytes)): the file
//! engine keeps the bytes unframed, the others frame them exactly as postcard would, with
//! one copy. `serde_bytes::ByteBuf` values are already fast on the ordinary path (they
//! serialize as bytes).

use std::any::{Any, TypeId};

/// Whether `V` is `Vec<u8>`.
pub(super) fn is_byte_buf<V: 'static>() -> bool {
    TypeId::of::<V>() == TypeId::of::<Vec<u8>>()
}

/// `value` as a byte buffer, when `V` is `Vec<u8>`.
pub(super) fn as_byte_buf<V: 'static>(value: &V) -> Option<&Vec<u8>> {
    (value as &dyn Any).downcast_ref::<Vec<u8>>()
}

/// A byte buffer as `V`, when `V` is `Vec<u8>`.
pub(super) fn from_byte_buf<V: 'static>(bytes: Vec<u8>) -> Option<V> {
    let boxed: Box<dyn Any> = Box::new(bytes);
    boxed.downcast::<V>().ok().map(|value| *value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_byte_buffers_take_the_raw_path() {
        assert!(is_byte_buf::<Vec<u8>>());
        assert!(!is_byte_buf::<Vec<u16>>());
        assert!(!is_byte_buf::<String>());
        assert_eq!(as_byte_buf(&vec![1_u8, 2]), Some(&vec![1_u8, 2]));
        assert_eq!(as_byte_buf(&vec![1_u16]), None);
        assert_eq!(from_byte_buf::<Vec<u8>>(vec![3]), Some(vec![3]));
        assert_eq!(from_byte_buf::<String>(vec![3]), None);
    }
}
