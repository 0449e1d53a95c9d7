//! The Redis engine's stored value, unsigned and signed (`twat_cache_redis::read_stored`,
//! the checks a lookup makes): nothing may panic; what is accepted unsigned is exactly a
//! flag-free envelope; a signed value reads as its envelope does, and never under another
//! key or when tampered with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twat_cache_core::envelope::{self, Flags};
use twat_cache_redis::{SigningKey, StoredValue, read_stored};

const KEY: &str = "twat_cache:fuzz:0:00";

fuzz_target!(|bytes: &[u8]| {
    let unsigned = read_stored(KEY, bytes.to_vec(), None).ok();
    if let Some(StoredValue::Live {
        payload,
        expires_at,
    }) = &unsigned
    {
        let (header, inner) = envelope::open(bytes).expect("accepted bytes are an envelope");
        assert_eq!(inner, &payload[..]);
        assert_eq!(header.flags, Flags::NONE);
        assert_eq!(header.expires_at, *expires_at);
    }

    let signing = SigningKey::from_secret(b"the fuzzer's signing secret");
    let signed = signing.sign(KEY, bytes);
    assert_eq!(
        read_stored(KEY, signed.clone(), Some(&signing)).ok(),
        unsigned,
        "a signed value reads as its envelope"
    );
    assert!(
        read_stored("twat_cache:fuzz:0:01", signed.clone(), Some(&signing)).is_err(),
        "a value copied to another key is refused"
    );
    let mut tampered = signed;
    if let Some(first) = tampered.first_mut() {
        *first ^= 0x01;
        assert!(read_stored(KEY, tampered, Some(&signing)).is_err());
    }
    // The raw bytes as a signed value: refused unless they carry a valid MAC (never, in
    // practice), and never a panic.
    let _ = read_stored(KEY, bytes.to_vec(), Some(&signing));
});
