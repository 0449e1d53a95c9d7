//! The tour of twat-cache: `cargo run --release --example tour`.
//!
//! The Python twat-cache README's six examples, in Rust: `#[mcache]`, `#[bcache]`,
//! `#[fcache]`, `#[acache]`, `#[ucache]` and `CacheContext`. Each prints the first
//! (computing) call's time, the cached call's time and the cache's statistics.
//!
//! Persistent caches live under `$TWAT_CACHE_DIR`; when it is unset the tour re-runs
//! itself with `TWAT_CACHE_DIR=<system temp dir>/twat_cache_tour`, so it never writes
//! to your real cache folder. Run it twice: the second run's `#[bcache]` and `#[fcache]`
//! calls are hits from the first run.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints what it shows"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use twat_cache::{
    CacheConfig, CacheContext, EngineKind, Stats, acache, bcache, fcache, get_stats, mcache, ucache,
};

/// Runs `f` twice and prints both timings and the named cache's statistics.
fn show<T: std::fmt::Debug>(title: &str, cache_name: &str, mut f: impl FnMut() -> T) {
    println!("\n== {title} ==");
    let start = Instant::now();
    let first = f();
    let first_time = start.elapsed();
    let start = Instant::now();
    let second = f();
    let second_time = start.elapsed();
    println!("first call : {first_time:>12.2?}  -> {}", preview(&first));
    println!("cached call: {second_time:>12.2?}  -> {}", preview(&second));
    print_stats(cache_name);
}

fn preview<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    if text.len() > 60 {
        format!("{}… ({} chars)", &text[..60], text.len())
    } else {
        text
    }
}

fn print_stats(cache_name: &str) {
    match get_stats(Some(cache_name)) {
        Some(Stats {
            hits,
            misses,
            size,
            errors,
            ..
        }) => {
            println!("stats      : hits {hits}, misses {misses}, entries {size}, errors {errors}");
        }
        None => println!("stats      : (no cache named {cache_name})"),
    }
}

// 1. Memory: a slow lookup, bounded and expiring.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[mcache(maxsize = 128, ttl = 60, name = "tour::get_user_details")]
fn get_user_details(user_id: u64) -> User {
    std::thread::sleep(Duration::from_millis(200)); // a database round trip
    User {
        id: user_id,
        name: format!("user-{user_id}"),
    }
}

// 2. Disk: survives restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    quarter: u8,
    revenue: f64,
}

static REPORT_COMPUTED: AtomicUsize = AtomicUsize::new(0);

#[bcache(folder = "user_data_cache", ttl = 3600, name = "tour::get_report_data")]
fn get_report_data(report_id: &str) -> Vec<Row> {
    REPORT_COMPUTED.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300)); // an expensive report
    let seed = report_id.len() as f64;
    (1..=4)
        .map(|quarter| Row {
            quarter,
            revenue: seed * f64::from(quarter) * 1000.0,
        })
        .collect()
}

// 3. Files: large arrays, compressed.
static ARRAY_COMPUTED: AtomicUsize = AtomicUsize::new(0);

#[fcache(
    folder = "array_processing_cache",
    compress = true,
    name = "tour::process_large_array"
)]
fn process_large_array(size: usize) -> Vec<f64> {
    ARRAY_COMPUTED.fetch_add(1, Ordering::SeqCst);
    (0..size).map(|i| ((i % 1000) as f64).sqrt()).collect()
}

// 4. Async: one computation however many callers await it.
static FETCHES: AtomicUsize = AtomicUsize::new(0);

#[acache(ttl = 300, name = "tour::fetch_external_data")]
async fn fetch_external_data(url: &str) -> String {
    FETCHES.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await; // the network
    format!("{} bytes from {url}", url.len() * 100)
}

// 5. Universal: picks the engine (here: memory, no folder given).
#[ucache(ttl = 1800, name = "tour::complex_calculation")]
fn complex_calculation(a: i64, b: f64, c: &str) -> String {
    std::thread::sleep(Duration::from_millis(100));
    format!("{}", a as f64 * b + c.len() as f64)
}

// 6. Redis: shared by every process (and machine) that reaches the server.
static REDIS_COMPUTED: AtomicUsize = AtomicUsize::new(0);

#[ucache(engine = "redis", ttl = 600, name = "tour::shared_lookup")]
fn shared_lookup(key: &str) -> String {
    REDIS_COMPUTED.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    key.to_uppercase()
}

fn redis_tier() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TWAT_CACHE_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let address = url
        .strip_prefix("redis://")
        .and_then(|rest| rest.split(['/', '?']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority).to_owned());
    let reachable = address.as_deref().is_some_and(|address| {
        use std::net::ToSocketAddrs as _;
        address
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|socket| {
                std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(200)).is_ok()
            })
    });
    if !reachable {
        println!(
            "\n== Redis tier: skipped (no server reachable at {}; start `redis-server` or set TWAT_CACHE_REDIS_URL) ==",
            address.as_deref().unwrap_or("the configured URL")
        );
        return Ok(());
    }
    show(
        "#[ucache(engine = \"redis\")]: shared through Redis",
        "tour::shared_lookup",
        || shared_lookup("twat"),
    );
    if REDIS_COMPUTED.load(Ordering::SeqCst) == 0 {
        println!("shared     : served by Redis — computed by an earlier process");
    }
    Ok(())
}

fn folder_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the tour's caches out of the real cache folder.
    twat_cache_examples::rerun_with_cache_dir(&std::env::temp_dir().join("twat_cache_tour"))?;
    let root = twat_cache::cache_root()?;
    println!("twat-cache tour — cache root: {}", root.display());

    show("#[mcache]: memory", "tour::get_user_details", || {
        get_user_details(42)
    });

    show(
        "#[bcache]: disk, survives restarts",
        "tour::get_report_data",
        || get_report_data("2026-q3"),
    );
    if REPORT_COMPUTED.load(Ordering::SeqCst) == 0 {
        println!("restart    : served from disk — computed by an earlier run of the tour");
    } else {
        println!("restart    : computed now; run the tour again and it is served from disk");
    }

    show(
        "#[fcache]: files for large values (zstd)",
        "tour::process_large_array",
        || process_large_array(1_000_000).len(),
    );
    let raw = 1_000_000 * 8;
    let stored = folder_size(&root.join("array_processing_cache"));
    println!(
        "on disk    : {stored} bytes for {raw} bytes of f64 ({:.1}% with compression){}",
        stored as f64 * 100.0 / raw as f64,
        if ARRAY_COMPUTED.load(Ordering::SeqCst) == 0 {
            ", from an earlier run"
        } else {
            ""
        }
    );

    println!("\n== #[acache]: async, 100 concurrent callers ==");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let start = Instant::now();
        let callers: Vec<_> = (0..100)
            .map(|_| tokio::spawn(fetch_external_data("https://example.org/data")))
            .collect();
        for caller in callers {
            let _ = caller.await;
        }
        println!(
            "100 callers: {:>12.2?}  -> the body ran {} time(s)",
            start.elapsed(),
            FETCHES.load(Ordering::SeqCst)
        );
        let start = Instant::now();
        let value = fetch_external_data("https://example.org/data").await;
        println!("cached call: {:>12.2?}  -> {value}", start.elapsed());
    });
    print_stats("tour::fetch_external_data");

    show(
        "#[ucache]: picks the engine (memory here)",
        "tour::complex_calculation",
        || complex_calculation(7, 1.5, "twat"),
    );

    println!("\n== CacheContext: direct use, released on drop ==");
    let cache = CacheContext::new(
        CacheConfig::builder()
            .name("tour::sessions")
            .engine(EngineKind::Disk)
            .folder("session_cache")
            .ttl(Duration::from_secs(600))
            .build()?,
    )?;
    let start = Instant::now();
    let before: Option<Vec<String>> = cache.get("session_data_user123")?;
    if before.is_none() {
        cache.set(
            "session_data_user123",
            &vec!["cart".to_owned(), "wishlist".to_owned()],
        )?;
    }
    let hit: Option<Vec<String>> = cache.get("session_data_user123")?;
    println!("get/set    : {:>12.2?}  -> {hit:?}", start.elapsed());
    print_stats("tour::sessions");
    drop(cache);

    redis_tier()?;

    let total = get_stats(None).unwrap_or_default();
    println!(
        "\nall caches : hits {}, misses {}, hit ratio {:.0}%",
        total.hits,
        total.misses,
        total.hit_ratio() * 100.0
    );

    // What `twat-cache list` prints for this root (the command's library function).
    println!("\n== twat-cache list ({}) ==", root.display());
    let caches = twat_cache_cli::list_caches(&twat_cache_cli::CacheRoot::at(&root))?;
    print!(
        "{}",
        twat_cache_cli::render_list(&caches, std::time::SystemTime::now())
    );
    Ok(())
}
