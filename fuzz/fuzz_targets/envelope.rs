//! Core's envelope and value codec, as every persistent engine (and the Redis value,
//! unsigned) reads stored bytes: the header, typed payloads, byte buffers, and the
//! "undecodable is a miss" rule. Nothing may panic; what decodes must re-encode to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twat_cache_core::envelope::{self, Header};
use twat_cache_core::{decode_byte_buf, decode_or_discard, decode_value, encode_byte_buf};
use twat_cache_fuzz::Probe;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((header, payload)) = envelope::open(bytes) {
        // The header is exactly what was stored: sealing it again gives the same bytes.
        let resealed = envelope::seal(
            Header {
                flags: header.flags,
                expires_at: header.expires_at,
            },
            payload,
        );
        assert_eq!(resealed, bytes);
        let _ = header.is_expired();
        let _ = decode_value::<Probe>(payload);
        let _ = decode_value::<Vec<u64>>(payload);
        let _ = decode_value::<(String, u32)>(payload);
        let mut discarded = false;
        let counted = std::cell::Cell::new(0);
        let value: Option<Probe> = decode_or_discard(
            payload,
            || {
                discarded = true;
                Ok(true)
            },
            |_| counted.set(counted.get() + 1),
        );
        assert_eq!(
            value.is_none(),
            discarded,
            "a miss is discarded, a hit is not"
        );
        assert_eq!(value.is_none(), counted.get() > 0, "a miss is counted");
    }
    let _ = envelope::open_value::<Probe>(bytes);
    let _ = envelope::open_value::<String>(bytes);
    // The hand-written byte-buffer decoder agrees with postcard's `Vec<u8>` (which also
    // accepts an overlong length varint, so the bytes need not re-encode identically).
    let by_hand = decode_byte_buf(bytes.to_vec()).ok();
    assert_eq!(
        by_hand,
        decode_value::<Vec<u8>>(bytes).ok(),
        "byte buffers decode as postcard does"
    );
    if let Some(buffer) = by_hand {
        assert_eq!(decode_byte_buf(encode_byte_buf(&buffer)).ok(), Some(buffer));
    }
});
