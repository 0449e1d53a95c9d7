//! `CacheConfigBuilder::build` refuses bad settings with a message naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::Path;
use std::time::Duration;

use twat_cache_core::{CacheConfig, ConfigError, EngineKind, Policy};

fn message(result: Result<CacheConfig, ConfigError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn accepts_the_contract_example() {
    let config = CacheConfig::builder()
        .name("session")
        .engine(EngineKind::Disk)
        .folder("session_cache")
        .ttl(Duration::from_secs(600))
        .maxsize(10)
        .policy(Policy::Fifo)
        .compress(true)
        .secure(false)
        .build()
        .unwrap();
    assert_eq!(config.folder(), Some(Path::new("session_cache")));
    assert_eq!(config.ttl(), Some(Duration::from_secs(600)));
    assert_eq!(config.engine(), Some(EngineKind::Disk));
    assert_eq!(config.policy(), Policy::Fifo);
    assert!(config.compress());
    assert!(!config.secure());
}

#[test]
fn zero_ttl_is_refused() {
    let msg = message(CacheConfig::builder().ttl(Duration::ZERO).build());
    assert!(msg.contains("`ttl`") && msg.contains("0ns"), "{msg}");
}

#[test]
fn zero_maxsize_is_refused() {
    let msg = message(CacheConfig::builder().maxsize(0).build());
    assert!(msg.contains("`maxsize`") && msg.contains('0'), "{msg}");
}

#[test]
fn empty_name_is_refused() {
    let msg = message(CacheConfig::builder().name("  ").build());
    assert!(msg.contains("`name`") && msg.contains("\"  \""), "{msg}");
}

#[test]
fn escaping_folders_are_refused() {
    for folder in ["../elsewhere", "a/../../b", "/etc/cache"] {
        let msg = message(CacheConfig::builder().folder(folder).build());
        assert!(msg.contains("`folder`") && msg.contains(folder), "{msg}");
    }
    let err = CacheConfig::builder().folder("").build().unwrap_err();
    assert_eq!(err, ConfigError::EmptyFolder);
    let err = CacheConfig::builder().folder("./.").build().unwrap_err();
    assert_eq!(err, ConfigError::EmptyFolder);
}

#[test]
fn nested_relative_folders_are_fine() {
    let config = CacheConfig::builder()
        .folder("team/reports")
        .build()
        .unwrap();
    assert_eq!(config.folder(), Some(Path::new("team/reports")));
}

#[test]
fn namespace_uses_name_or_fallback_and_version() {
    let named = CacheConfig::builder().name("n").version(2).build().unwrap();
    assert_eq!(named.namespace("fallback").name(), "n");
    assert_eq!(named.namespace("fallback").version(), 2);
    let unnamed = CacheConfig::builder().build().unwrap();
    assert_eq!(unnamed.namespace("fallback").name(), "fallback");
}

#[test]
fn config_error_converts_into_error() {
    let err: twat_cache_core::Error = ConfigError::ZeroMaxsize.into();
    assert!(err.to_string().contains("`maxsize`"));
    let _: &dyn std::error::Error = &err;
}
