//! The disk engine's stored bytes: entries written straight into its fjall keyspace —
//! valid envelopes, garbled ones, foreign keys — then the cache opens (building its
//! index from one scan of them) and reads every key typed and as bytes, and the folder
//! is inspected. A value is served only if its stored bytes are a live envelope whose
//! payload decodes as the asked-for type, and then it is exactly that payload's value.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use twat_cache_core::envelope::{self, Flags, unix_millis_now};
use twat_cache_core::{ByteStore as _, CacheConfig, Namespace, decode_value};
use twat_cache_disk::{DiskCache, DiskOptions, inspect};
use twat_cache_fuzz::{Probe, pieces, scratch_dir};

const NAME: &str = "fz";

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &ROOT
        .get_or_init(|| {
            let dir = scratch_dir();
            let path = dir.path().to_path_buf();
            (dir, path)
        })
        .1
}

/// What the cache may answer for a stored value: the payload's value if the envelope is
/// live and unflagged, `None` if it is not; `Err` when the answer depends on the clock.
fn oracle(stored: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let Ok((header, payload)) = envelope::open(stored) else {
        return Ok(None);
    };
    if header.flags != Flags::NONE {
        return Ok(None);
    }
    if let Some(at) = header.expires_at {
        if at.abs_diff(unix_millis_now()) < 60_000 {
            return Err(());
        }
        if header.is_expired() {
            return Ok(None);
        }
    }
    // Compared as re-encoded bytes: `Probe` holds floats, and NaN != NaN.
    Ok(decode_value::<Probe>(payload)
        .ok()
        .map(|probe| postcard::to_stdvec(&probe).unwrap()))
}

fuzz_target!(|input: &[u8]| {
    let root = root();
    let folder = root.join("disk");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let namespace = Namespace::new(NAME, 0);
    let values = pieces(input);
    {
        let database = fjall::Database::builder(&folder).open().unwrap();
        let keyspace = database
            .keyspace(NAME, fjall::KeyspaceCreateOptions::default)
            .unwrap();
        for (i, value) in values.iter().enumerate() {
            let key = namespace.key(&(i as u8)).unwrap();
            keyspace.insert(key, *value).unwrap();
        }
        // A key outside any namespace, holding the last value.
        if let Some(last) = values.last() {
            keyspace.insert(b"\xff foreign".as_slice(), *last).unwrap();
        }
    }
    let config = CacheConfig::builder()
        .name(NAME)
        .folder("disk")
        .secure(false)
        .build()
        .unwrap();
    let options = DiskOptions {
        root: Some(root.clone()),
        lock_wait: Duration::from_secs(10),
        ..DiskOptions::default()
    };
    {
        let cache = DiskCache::open_with(&config, options).unwrap();
        assert!(!cache.is_fallback());
        for (i, value) in values.iter().enumerate().take(usize::from(u8::MAX)) {
            let key = i as u8;
            let expected = oracle(value);
            let got = cache.get::<_, Probe>(&key).unwrap();
            if let Ok(expected) = expected {
                let got = got.map(|probe| postcard::to_stdvec(&probe).unwrap());
                assert_eq!(got, expected, "entry {i} served as something it is not");
            }
            let _ = cache.get_bytes(&namespace.key(&key).unwrap());
        }
        cache.set(&0_u8, &Probe::sample(1)).unwrap();
        assert_eq!(
            cache.get::<_, Probe>(&0_u8).unwrap(),
            Some(Probe::sample(1))
        );
    }
    let _ = inspect::describe_folder(&folder);
});
