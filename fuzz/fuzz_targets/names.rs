//! Key and namespace bytes, and the names and strings a configuration parses: the
//! namespace prefix must decode back to its name and version, the inline key encoder
//! must write postcard's exact bytes, and no parser may panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use twat_cache_core::{
    CacheConfig, Digest, DigestAlgorithm, KeyBuf, Namespace, key_bytes, mask_password,
    parse_size_str, parse_ttl_str, validate_folder,
};

fuzz_target!(|input: &[u8]| {
    let (version, text) = match input.split_first_chunk::<4>() {
        Some((version, rest)) => (u32::from_le_bytes(*version), rest),
        None => (0, input),
    };
    let text = String::from_utf8_lossy(text);

    // The namespace prefix is postcard's `(name, version)`: it decodes back.
    let namespace = Namespace::new(&text, version);
    let (name, back): (String, u32) = postcard::from_bytes(namespace.prefix()).unwrap();
    assert_eq!((name.as_str(), back), (text.as_ref(), version));
    let typed = Namespace::typed::<Vec<u8>>(&text, version);
    assert!(typed.prefix().starts_with(namespace.prefix()));

    // The inline key encoder writes exactly what postcard writes.
    let small = (text.as_ref(), version, input.first().copied());
    assert_eq!(
        KeyBuf::encode(&small).unwrap().as_bytes(),
        key_bytes(&small).unwrap()
    );
    let numbers = (
        i64::from(version as i32),
        f64::from_bits(u64::from(version) << 20),
        char::from_u32(version).unwrap_or('x'),
        (version % 3 == 0).then_some(version as u16),
        input.len() as u128,
    );
    assert_eq!(
        KeyBuf::encode(&numbers).unwrap().as_bytes(),
        key_bytes(&numbers).unwrap()
    );
    let key = namespace.key(&small).unwrap();
    assert_eq!(key, namespace.key_from_bytes(&key_bytes(&small).unwrap()));

    for algorithm in [DigestAlgorithm::Blake3, DigestAlgorithm::Xxh3] {
        let hex = Digest::of(input, algorithm).to_hex();
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    // Parsers of user-given strings: errors, never panics.
    let _ = parse_size_str(&text);
    let _ = parse_ttl_str(&text);
    let _ = validate_folder(Path::new(text.as_ref()));
    let masked = mask_password(&text);
    assert!(masked.len() <= text.len() + 3 || masked.contains("***"));
    let _ = CacheConfig::builder()
        .name(text.as_ref())
        .folder(text.as_ref())
        .build();
});
