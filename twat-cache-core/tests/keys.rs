//! Key bytes are stable across runs and processes, and differ across cache names.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use serde::Serialize;
use twat_cache_core::{Digest, DigestAlgorithm, Namespace, key_bytes};

#[derive(Serialize)]
struct Query<'a> {
    user: u64,
    word: &'a str,
    weights: &'a [f64],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn golden_key_bytes() {
    // Golden values: if any of these change, every persistent cache written by an
    // earlier build stops hitting. Change them only with a format-version bump.
    assert_eq!(hex(&key_bytes(&42_u64).unwrap()), "2a");
    assert_eq!(hex(&key_bytes(&300_u64).unwrap()), "ac02");
    assert_eq!(hex(&key_bytes(&-1_i64).unwrap()), "01");
    assert_eq!(hex(&key_bytes("abc").unwrap()), "03616263");
    assert_eq!(hex(&key_bytes(&1.5_f64).unwrap()), "000000000000f83f");
    assert_eq!(
        hex(&key_bytes(&(7_u32, "x", [1_u8, 2])).unwrap()),
        "0701780102"
    );
    let query = Query {
        user: 1,
        word: "hi",
        weights: &[0.5],
    };
    assert_eq!(
        hex(&key_bytes(&query).unwrap()),
        "0102686901000000000000e03f"
    );
}

#[test]
fn golden_namespaced_keys() {
    let namespace = Namespace::new("app::lookup", 0);
    assert_eq!(hex(namespace.prefix()), "0b6170703a3a6c6f6f6b757000");
    assert_eq!(
        hex(&namespace.key(&42_u64).unwrap()),
        "0b6170703a3a6c6f6f6b7570002a"
    );
    assert_eq!(
        hex(Namespace::new("app::lookup", 2).prefix()),
        "0b6170703a3a6c6f6f6b757002"
    );
}

#[test]
fn golden_digests() {
    assert_eq!(
        Digest::of(b"twat-cache", DigestAlgorithm::Blake3).to_hex(),
        blake3::hash(b"twat-cache").to_hex().to_string()
    );
    assert_eq!(
        Digest::of(b"", DigestAlgorithm::Xxh3).to_hex(),
        "99aa06d3014798d86001c324468d497f"
    );
    assert_eq!(
        Digest::of(b"", DigestAlgorithm::Blake3).to_hex(),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
}

#[test]
fn names_and_versions_separate_key_spaces() {
    let a = Namespace::new("a", 0);
    let ab = Namespace::new("ab", 0);
    let a1 = Namespace::new("a", 1);
    // "a" + key "b..." must not collide with "ab" + key "...": the length prefix keeps
    // namespaces apart even when the raw strings would concatenate to the same thing.
    assert_ne!(a.key(&"b").unwrap(), ab.key(&"").unwrap());
    assert_ne!(a.key(&1_u8).unwrap(), a1.key(&1_u8).unwrap());
    assert!(!ab.key(&1_u8).unwrap().starts_with(a.prefix()));
}

#[test]
fn equal_arguments_give_equal_keys_in_a_child_process() {
    // The same bytes in a fresh process: no process-seeded hashing anywhere.
    const CHILD_ENV: &str = "TWAT_CACHE_KEYS_CHILD";
    let key = hex(&Namespace::new("stable", 3)
        .key(&("x", 1.25_f64, vec![1_u16, 2]))
        .unwrap());
    if std::env::var_os(CHILD_ENV).is_some() {
        println!("KEY={key}");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "equal_arguments_give_equal_keys_in_a_child_process",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("KEY={key}")),
        "child printed: {stdout}"
    );
}
