#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! `rediss://`: a real TLS-only `redis-server` on certificates this test makes with
//! `openssl`; a private CA from the options or `TWAT_CACHE_REDIS_CA`, client
//! certificates, a refused CA (a clear error at open), `#insecure`, and a cluster over TLS.

#![cfg(feature = "tls")]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{
    CHILD_URL, RedisCluster, TlsFiles, eventually, open_with, test_options, tls_available,
    tls_server,
};
use twat_cache_core::{CacheConfig, Error};
use twat_cache_redis::{REDIS_CA_ENV, RedisCache, RedisOptions};

fn open(url: &str, name: &str, options: RedisOptions) -> Result<RedisCache, Error> {
    let config = CacheConfig::builder()
        .name(name)
        .redis_url(url)
        .build()
        .unwrap();
    RedisCache::open_with(&config, options)
}

#[test]
fn a_private_ca_from_the_options() {
    let Some((files, server)) = tls_server(false) else {
        return;
    };
    let ca = TlsFiles::read(&files.ca_cert);
    let cache = open_with(
        &server.tls_url(),
        "tls",
        test_options().tls_ca_pem(ca.clone()).l1_entries(100),
    );
    assert!(cache.is_up());
    cache.set(&"k", &"over TLS".to_owned()).unwrap();
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("over TLS")
    );
    // The lease path and clear run over TLS too.
    assert_eq!(cache.get_or_compute_with_lease(&"sum", || 6_u64), 6);
    assert_eq!(cache.get_or_compute_with_lease(&"sum", || 0_u64), 6);
    // The memory front's subscriber connects over TLS: another process's write reaches it.
    let other = open_with(&server.tls_url(), "tls", test_options().tls_ca_pem(ca));
    assert!(eventually(Duration::from_secs(10), || cache.is_front_live()));
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("over TLS")
    );
    other.set(&"k", &"changed".to_owned()).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        cache.get::<_, String>(&"k").unwrap().as_deref() == Some("changed")
    }));
    cache.clear().unwrap();
    assert_eq!(other.get::<_, String>(&"k").unwrap(), None);
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn a_wrong_ca_is_a_clear_error_at_open() {
    let Some((files, server)) = tls_server(false) else {
        return;
    };
    let wrong = test_options().tls_ca_pem(TlsFiles::read(&files.other_ca_cert));
    let err = open(&server.tls_url(), "tls_wrong", wrong).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("TLS handshake"), "{message}");
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("TWAT_CACHE_REDIS_CA"), "{message}");
    // The platform's roots do not know the test CA either.
    let err = open(&server.tls_url(), "tls_platform", test_options()).unwrap_err();
    assert!(err.to_string().contains("TLS handshake"), "{err}");
    // Not PEM at all: refused at open, naming the problem.
    let err = open(
        &server.tls_url(),
        "tls_garbage",
        test_options().tls_ca_pem(&b"not a certificate"[..]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[test]
fn client_certificates_for_mutual_tls() {
    let Some((files, server)) = tls_server(true) else {
        return;
    };
    let ca = TlsFiles::read(&files.ca_cert);
    // Without a client certificate the server refuses the handshake: an error at open.
    let err = open(
        &server.tls_url(),
        "mtls_none",
        test_options().tls_ca_pem(ca.clone()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("TLS handshake"), "{err}");
    let options = test_options().tls_ca_pem(ca).tls_client_identity(
        TlsFiles::read(&files.client_cert),
        TlsFiles::read(&files.client_key),
    );
    assert!(!format!("{options:?}").contains("PRIVATE KEY"));
    let cache = open(&server.tls_url(), "mtls", options).unwrap();
    cache.set(&1_u32, &2_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&1_u32).unwrap(), Some(2));
}

#[test]
fn insecure_accepts_any_certificate() {
    let Some((_files, server)) = tls_server(false) else {
        return;
    };
    let url = format!("{}/#insecure", server.tls_url());
    let cache = open(&url, "insecure", test_options()).unwrap();
    cache.set(&1_u32, &2_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&1_u32).unwrap(), Some(2));
}

/// The CA from `TWAT_CACHE_REDIS_CA`, in a child process (the variable is process-wide).
#[test]
fn a_private_ca_from_the_environment() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        if let Ok(expected) = std::env::var("TWAT_REDIS_TEST_EXPECT_ERROR") {
            let err = open(&url, "tls_env", test_options()).unwrap_err();
            assert!(err.to_string().contains(&expected), "{err}");
            return;
        }
        let cache = open(&url, "tls_env", test_options()).unwrap();
        cache.set(&"k", &5_u8).unwrap();
        assert_eq!(cache.get::<_, u8>(&"k").unwrap(), Some(5));
        return;
    }
    let Some((files, server)) = tls_server(false) else {
        return;
    };
    // Re-runs this test with `TWAT_CACHE_REDIS_CA = ca` (and an expected error, if any).
    let child = |ca: &std::path::Path, expected_error: Option<&str>| {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "a_private_ca_from_the_environment",
                "--nocapture",
            ])
            .env(CHILD_URL, server.tls_url())
            .env(REDIS_CA_ENV, ca);
        if let Some(expected) = expected_error {
            child.env("TWAT_REDIS_TEST_EXPECT_ERROR", expected);
        }
        assert!(child.status().unwrap().success());
    };
    child(&files.ca_cert, None);
    // A CA file that does not exist: an I/O error at open naming the file.
    child(&files.ca_cert.with_extension("missing"), Some("ca.missing"));
}

#[test]
fn a_cluster_over_tls() {
    if !tls_available() {
        return;
    }
    let files = TlsFiles::generate();
    let Some(cluster) = RedisCluster::start_tls(3, &files) else {
        return;
    };
    let options = test_options()
        .tls_ca_pem(TlsFiles::read(&files.ca_cert))
        .l1_entries(100);
    let cache = open(&cluster.tls_url(), "tls_cluster", options).unwrap();
    for i in 0..100_u32 {
        cache.set(&i, &(i + 1)).unwrap();
    }
    for i in 0..100_u32 {
        assert_eq!(cache.get::<_, u32>(&i).unwrap(), Some(i + 1));
    }
    let per_node = cluster.keys_per_node(cache.key_prefix());
    assert!(per_node.iter().all(|&n| n > 0), "{per_node:?}");
    assert!(eventually(Duration::from_secs(10), || cache.is_front_live()));
    cache.clear().unwrap();
    assert_eq!(cluster.keys_per_node(cache.key_prefix()), [0, 0, 0]);
    // The wrong CA is refused at open, as for one server.
    let wrong = test_options().tls_ca_pem(TlsFiles::read(&files.other_ca_cert));
    let err = open(&cluster.tls_url(), "tls_cluster", wrong).unwrap_err();
    assert!(err.to_string().contains("TLS handshake"), "{err}");
}
