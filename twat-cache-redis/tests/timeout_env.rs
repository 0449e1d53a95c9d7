//! `TWAT_CACHE_REDIS_TIMEOUT` sets the timeouts of caches opened without options; a bad
//! value is a `ConfigError` naming the variable. Each case runs in a child process of
//! this test binary, so that no test changes its own environment.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests fail loudly and children report on stdout"
)]

use std::process::Command;
use std::time::Duration;

use twat_cache_core::CacheConfig;
use twat_cache_redis::{REDIS_TIMEOUT_ENV, RedisCache, RedisOptions};

/// Marks the child runs.
const CHILD: &str = "TWAT_REDIS_TIMEOUT_TEST_CHILD";

fn child(timeout: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_timeout_variable_is_read_and_checked",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env(REDIS_TIMEOUT_ENV, timeout)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_timeout_variable_is_read_and_checked() {
    if std::env::var_os(CHILD).is_some() {
        match RedisOptions::from_env() {
            Ok(options) => {
                let two = RedisOptions::new()
                    .connect_timeout(Duration::from_secs(2))
                    .command_timeout(Duration::from_secs(2));
                println!("TWO_SECONDS={}", options == two);
                println!("DEFAULT={}", options == RedisOptions::default());
            }
            Err(err) => println!("ERROR={err}"),
        }
        // The same check guards opening a cache (no server is needed to fail).
        let config = CacheConfig::builder().name("t").build().unwrap();
        if let Err(err) = RedisCache::open(&config) {
            println!("OPEN_ERROR={err}");
        }
        return;
    }
    let two = child("2s");
    assert!(two.contains("TWO_SECONDS=true"), "{two}");
    let unset = child("");
    assert!(unset.contains("DEFAULT=true"), "{unset}");
    for bad in ["soon", "0"] {
        let out = child(bad);
        assert!(
            out.contains("ERROR=`TWAT_CACHE_REDIS_TIMEOUT`"),
            "{bad}: {out}"
        );
        assert!(
            out.contains("OPEN_ERROR=") && out.contains("TWAT_CACHE_REDIS_TIMEOUT"),
            "{bad}: {out}"
        );
    }
}
