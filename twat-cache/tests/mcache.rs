//! `#[mcache]`: what a user of the attribute relies on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use serde::Serialize;
use twat_cache::{clear_cache, get_stats, mcache};

static SQUARE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(name = "tests::square")]
fn square(x: u64) -> u64 {
    SQUARE_CALLS.fetch_add(1, Ordering::SeqCst);
    x * x
}

#[test]
fn second_call_is_served_from_the_cache() {
    assert_eq!(square(3), 9);
    assert_eq!(square(3), 9);
    assert_eq!(square(4), 16);
    assert_eq!(square(3), 9);
    assert_eq!(SQUARE_CALLS.load(Ordering::SeqCst), 2);
    let stats = get_stats(Some("tests::square")).unwrap();
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.misses, 2);
    assert_eq!(stats.size, 2);
}

static SCORE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Borrowed strings, slices and floats need no annotation.
#[mcache(maxsize = 1000, policy = "lfu", name = "tests::score")]
fn score(word: &str, weights: &[f64], bias: f64) -> f64 {
    SCORE_CALLS.fetch_add(1, Ordering::SeqCst);
    weights.iter().sum::<f64>() * word.len() as f64 + bias
}

#[test]
fn borrowed_and_float_arguments_form_keys() {
    let weights = vec![0.5, 1.5];
    assert_eq!(score("abc", &weights, 0.25), 6.25);
    assert_eq!(score("abc", &[0.5, 1.5], 0.25), 6.25);
    assert_eq!(SCORE_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(score("abc", &weights, 0.5), 6.5);
    assert_eq!(score("abcd", &weights, 0.25), 8.25);
    assert_eq!(SCORE_CALLS.load(Ordering::SeqCst), 3);
}

#[derive(Serialize, Clone, PartialEq, Debug)]
struct Point {
    x: f64,
    y: f64,
}

static NORM_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache]
fn norm(point: &Point, scale: (u8, u8)) -> f64 {
    NORM_CALLS.fetch_add(1, Ordering::SeqCst);
    (point.x * point.x + point.y * point.y).sqrt() * f64::from(scale.0) / f64::from(scale.1)
}

#[test]
fn structs_deriving_serialize_and_tuples_are_keys() {
    let p = Point { x: 3.0, y: 4.0 };
    assert_eq!(norm(&p, (2, 1)), 10.0);
    assert_eq!(norm(&Point { x: 3.0, y: 4.0 }, (2, 1)), 10.0);
    assert_eq!(NORM_CALLS.load(Ordering::SeqCst), 1);
    // The default name is the function's path.
    let stats = get_stats(Some(concat!(module_path!(), "::norm"))).unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

static PARSE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(name = "tests::parse")]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    PARSE_CALLS.fetch_add(1, Ordering::SeqCst);
    text.parse()
}

#[test]
fn ok_is_cached_err_is_not() {
    assert_eq!(parse("12"), Ok(12));
    assert_eq!(parse("12"), Ok(12));
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(PARSE_CALLS.load(Ordering::SeqCst), 3);
}

static ALIAS_CALLS: AtomicUsize = AtomicUsize::new(0);

/// An alias of `Result` with one parameter works too, and `?` keeps its meaning.
#[mcache]
fn read_len(path: &str) -> std::io::Result<usize> {
    ALIAS_CALLS.fetch_add(1, Ordering::SeqCst);
    if path.is_empty() {
        return Err(std::io::Error::other("empty path"));
    }
    let len: usize = path
        .len()
        .checked_mul(2)
        .ok_or_else(|| std::io::Error::other("overflow"))?;
    Ok(len)
}

#[test]
fn result_aliases_and_early_returns_work() {
    assert_eq!(read_len("ab").unwrap(), 4);
    assert_eq!(read_len("ab").unwrap(), 4);
    assert!(read_len("").is_err());
    assert!(read_len("").is_err());
    assert_eq!(ALIAS_CALLS.load(Ordering::SeqCst), 3);
}

static STRICT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(cache_errors = true)]
fn strict(n: i32) -> Result<i32, String> {
    STRICT_CALLS.fetch_add(1, Ordering::SeqCst);
    if n < 0 {
        Err(format!("{n} is negative"))
    } else {
        Ok(n)
    }
}

#[test]
fn cache_errors_caches_err_too() {
    assert!(strict(-1).is_err());
    assert!(strict(-1).is_err());
    assert_eq!(STRICT_CALLS.load(Ordering::SeqCst), 1);
}

static FIND_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache]
fn find(n: u32) -> Option<u32> {
    FIND_CALLS.fetch_add(1, Ordering::SeqCst);
    n.is_multiple_of(2).then_some(n / 2)
}

#[test]
fn none_is_cached() {
    assert_eq!(find(3), None);
    assert_eq!(find(3), None);
    assert_eq!(find(4), Some(2));
    assert_eq!(FIND_CALLS.load(Ordering::SeqCst), 2);
}

struct Connection {
    queries: AtomicUsize,
}

#[mcache(skip(conn), name = "tests::lookup")]
fn lookup(conn: &Connection, id: u64) -> Result<String, String> {
    conn.queries.fetch_add(1, Ordering::SeqCst);
    Ok(format!("item {id}"))
}

#[mcache(key = id % 10)]
fn by_last_digit(id: u64, label: &str) -> String {
    format!("{label}:{}", id % 10)
}

#[test]
fn skip_and_key_choose_the_key() {
    let conn = Connection {
        queries: AtomicUsize::new(0),
    };
    assert_eq!(lookup(&conn, 1).unwrap(), "item 1");
    let other = Connection {
        queries: AtomicUsize::new(0),
    };
    assert_eq!(lookup(&other, 1).unwrap(), "item 1");
    assert_eq!(
        conn.queries.load(Ordering::SeqCst) + other.queries.load(Ordering::SeqCst),
        1
    );

    assert_eq!(by_last_digit(13, "a"), "a:3");
    // Same key (3), so the first result is served even with another label.
    assert_eq!(by_last_digit(23, "b"), "a:3");
}

#[derive(Serialize)]
struct Model {
    factor: u64,
    #[serde(skip)]
    calls: AtomicUsize,
}

impl Model {
    #[mcache]
    fn scaled(&self, x: u64) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.factor * x
    }

    #[mcache(skip(self))]
    fn constant(&self, x: u64) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        x + 1
    }
}

#[test]
fn methods_key_on_self_or_skip_it() {
    let two = Model {
        factor: 2,
        calls: AtomicUsize::new(0),
    };
    let three = Model {
        factor: 3,
        calls: AtomicUsize::new(0),
    };
    assert_eq!(two.scaled(5), 10);
    assert_eq!(two.scaled(5), 10);
    assert_eq!(three.scaled(5), 15);
    assert_eq!(two.calls.load(Ordering::SeqCst), 1);
    assert_eq!(three.calls.load(Ordering::SeqCst), 1);
    assert_eq!(two.constant(1), 2);
    assert_eq!(three.constant(1), 2);
    assert_eq!(
        two.calls.load(Ordering::SeqCst) + three.calls.load(Ordering::SeqCst),
        3
    );
}

static EVICT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(maxsize = 2, policy = "lru", name = "tests::evict")]
fn evict(x: u8) -> u8 {
    EVICT_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn maxsize_and_policy_bound_the_cache() {
    evict(1);
    evict(2);
    evict(1); // 1 is now most recent
    evict(3); // evicts 2
    assert_eq!(EVICT_CALLS.load(Ordering::SeqCst), 3);
    evict(1);
    assert_eq!(EVICT_CALLS.load(Ordering::SeqCst), 3);
    evict(2);
    assert_eq!(EVICT_CALLS.load(Ordering::SeqCst), 4);
    let stats = get_stats(Some("tests::evict")).unwrap();
    assert_eq!(stats.size, 2);
    assert_eq!(stats.maxsize, Some(2));
    assert!(stats.evictions >= 2);
}

static TTL_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(ttl = "50ms")]
fn stamped(x: u8) -> u8 {
    TTL_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn ttl_expires_entries() {
    stamped(1);
    stamped(1);
    assert_eq!(TTL_CALLS.load(Ordering::SeqCst), 1);
    std::thread::sleep(Duration::from_millis(120));
    stamped(1);
    assert_eq!(TTL_CALLS.load(Ordering::SeqCst), 2);
}

static CLEAR_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache(name = "tests::cleared")]
fn cleared(x: u8) -> u8 {
    CLEAR_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn clear_cache_by_name_empties_it() {
    cleared(1);
    cleared(1);
    assert_eq!(CLEAR_CALLS.load(Ordering::SeqCst), 1);
    clear_cache(Some("tests::cleared")).unwrap();
    assert_eq!(get_stats(Some("tests::cleared")).unwrap().size, 0);
    cleared(1);
    assert_eq!(CLEAR_CALLS.load(Ordering::SeqCst), 2);
}

static FLIGHT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache]
fn slow_once(x: u64) -> u64 {
    FLIGHT_CALLS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    x + 1
}

#[test]
fn concurrent_misses_run_the_body_once() {
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                slow_once(41)
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 42);
    }
    assert_eq!(FLIGHT_CALLS.load(Ordering::SeqCst), 1);
}

/// Doc comments, attributes, visibility, lifetimes and `where` clauses survive.
#[mcache]
#[inline]
#[must_use]
pub(crate) fn keeps_everything<'a>(text: &'a str) -> String
where
    'a: 'a,
{
    text.to_uppercase()
}

#[test]
fn expansion_keeps_the_signature() {
    assert_eq!(keeps_everything("ab"), "AB");
    let as_fn = keeps_everything;
    assert_eq!(as_fn("ab"), "AB");
}

static DISABLED_CALLS: AtomicUsize = AtomicUsize::new(0);

#[mcache]
fn maybe_disabled(x: u8) -> u8 {
    DISABLED_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn twat_cache_disable_makes_plain_calls() {
    const CHILD: &str = "TWAT_CACHE_MCACHE_DISABLE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        maybe_disabled(1);
        maybe_disabled(1);
        println!("CALLS={}", DISABLED_CALLS.load(Ordering::SeqCst));
        return;
    }
    for (value, expected) in [("1", "CALLS=2"), ("0", "CALLS=1")] {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "twat_cache_disable_makes_plain_calls",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("TWAT_CACHE_DISABLE", value)
            .output()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(expected),
            "TWAT_CACHE_DISABLE={value}: {stdout}"
        );
    }
}
