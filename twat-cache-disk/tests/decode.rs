//! Entries that no longer decode (the type changed, garbled bytes) are misses: removed,
//! counted, never a panic or a wrong value.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{config, open};
use twat_cache_core::envelope::{Flags, Header, seal};
use twat_cache_core::{ByteStore, Namespace};

#[test]
fn a_changed_type_is_a_miss_and_the_entry_is_removed() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("typed", "typed"));
    cache.set(&"answer", &"forty-two".to_owned()).unwrap();
    // The program now expects a number under the same key.
    assert_eq!(cache.get::<_, u64>(&"answer").unwrap(), None);
    let stats = cache.stats();
    assert_eq!((stats.errors, stats.misses, stats.size), (1, 1, 0));
    // Removed: not even the old type finds it.
    assert_eq!(cache.get::<_, String>(&"answer").unwrap(), None);
    // Recomputed and stored with the new type.
    cache.set(&"answer", &42_u64).unwrap();
    assert_eq!(cache.get::<_, u64>(&"answer").unwrap(), Some(42));
}

#[test]
fn garbled_entries_on_disk_are_removed_and_counted() {
    let root = tempfile::tempdir().unwrap();
    let namespace = Namespace::new("garbled", 0);
    let path = {
        let cache = open(root.path(), config("garbled", "garbled"));
        cache.set(&1_u8, &"fine").unwrap();
        cache.path()
    };
    {
        // Damage the folder behind the engine's back.
        let database = fjall::Database::builder(&path).open().unwrap();
        let keyspace = database
            .keyspace("garbled", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        keyspace
            .insert(namespace.key(&2_u8).unwrap(), vec![0xFF_u8; 5])
            .unwrap();
        let bad_payload = seal(Header::new(Flags::NONE, None), &[0xFF, 0xFF, 0xFF]);
        keyspace
            .insert(namespace.key(&3_u8).unwrap(), bad_payload)
            .unwrap();
    }
    let cache = open(root.path(), config("garbled", "garbled"));
    // The bad envelope was dropped while opening.
    assert_eq!(cache.stats().errors, 1);
    assert_eq!(cache.stats().size, 2);
    assert_eq!(cache.get::<_, String>(&2_u8).unwrap(), None);
    // The valid envelope with a garbage payload is removed when read.
    assert_eq!(cache.get::<_, String>(&3_u8).unwrap(), None);
    assert_eq!(cache.stats().errors, 2);
    assert_eq!(cache.stats().size, 1);
    assert_eq!(
        cache.get::<_, String>(&1_u8).unwrap().as_deref(),
        Some("fine")
    );
}

#[test]
fn the_byte_path_hands_payloads_to_the_caller() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("bytes", "bytes"));
    assert_eq!(cache.kind(), twat_cache_core::EngineKind::Disk);
    let key = Namespace::new("bytes", 0).key(&"k").unwrap();
    let payload = twat_cache_core::encode_value(&vec![1_u16, 2, 3]).unwrap();
    cache.set_bytes(&key, &payload).unwrap();
    assert_eq!(cache.get_bytes(&key).unwrap(), Some(payload.clone()));
    // The typed path and the byte path agree on keys and payloads.
    assert_eq!(cache.get::<_, Vec<u16>>(&"k").unwrap(), Some(vec![1, 2, 3]));
    // What the facade does when the payload does not decode as its type.
    assert!(cache.delete_bytes(&key).unwrap());
    cache.record_error(&twat_cache_core::Error::Decode(
        twat_cache_core::DecodeError::payload_message("test"),
    ));
    assert!(!cache.delete_bytes(&key).unwrap());
    assert_eq!(cache.get_bytes(&key).unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
    ByteStore::flush(&cache).unwrap();
}
