//! Keys fjall cannot hold (empty, longer than 65 535 bytes) are errors on the byte path,
//! never panics; long typed keys (past the stack buffer) work.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{config, open};
use twat_cache_core::{ByteStore, Error};

#[test]
fn unstorable_keys_are_errors_not_panics() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("limits", "limits"));
    let too_long = vec![7_u8; 70_000];
    for key in [&[][..], &too_long[..]] {
        assert!(matches!(
            cache.set_bytes(key, b"payload"),
            Err(Error::Encode { what: "key", .. })
        ));
        assert_eq!(cache.get_bytes(key).unwrap(), None);
        assert!(!cache.delete_bytes(key).unwrap());
    }
    assert!(matches!(
        cache.set(&"x".repeat(70_000), &1_u8),
        Err(Error::Encode { what: "key", .. })
    ));
}

#[test]
fn long_typed_keys_round_trip() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("long_keys", "long_keys"));
    let key = ("a long report name ".repeat(20), 42_u64, vec![1.5_f64; 30]);
    cache.set(&key, &"value").unwrap();
    assert_eq!(
        cache.get::<_, String>(&key).unwrap().as_deref(),
        Some("value")
    );
    assert!(cache.remove(&key).unwrap());
    assert_eq!(cache.get::<_, String>(&key).unwrap(), None);
    // The old verb still works and forwards to `remove`.
    cache.set(&key, &"again").unwrap();
    #[allow(deprecated, reason = "checks that the deprecated verb forwards")]
    let removed = cache.delete(&key).unwrap();
    assert!(removed);
    assert_eq!(cache.get::<_, String>(&key).unwrap(), None);
}
