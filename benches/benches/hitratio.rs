//! The hit-ratio benchmark: how many requests each cache answers, per workload.
//!
//! Not a timing benchmark (no criterion): every cache sees the same seeded request
//! streams (built on `benches/src/lib.rs`'s shared generators) through `get`, then
//! `insert` on a miss, one thread, and the hits are counted — so the table is the same on
//! every run and every machine (up to the per-process hash seeds of the caches). Contenders:
//! each policy of ours (`MemoryCache` with every bounded `Policy`), the caches a user would
//! otherwise pick (moka's `sync::Cache`, quick_cache's `sync::Cache`, `cached`'s
//! `LruCache`, the `SizedCache` of its earlier versions) and Bélády's clairvoyant optimum
//! (MIN with bypass) as the ceiling.
//!
//! Run it with `cargo bench -p twat-cache-benches --bench hitratio`; it prints a Markdown
//! table (hit ratio in percent per cache per workload, then ours(tinylfu) ÷ the best
//! peer and the gap to Bélády) and writes it to `target/hitratio.md`. A first argument
//! that is not a flag runs only the workloads whose name contains it (`-- "zipf 0.9"`);
//! `HITRATIO_CACHES=tinylfu,quick,moka` runs only the caches whose name contains one of
//! those words (then the table is printed but not written: it is not the whole suite).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken setup"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "hit counts of a bench are far below 2^53"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the table on the terminal is this benchmark's report"
)]

use std::fmt::Write as _;
use std::time::Instant;

use cached::{Cached, LruCache};
use twat_cache_benches::{
    belady_hits, loop_keys, recency_keys, shifting_zipf_keys, zipf_keys, zipf_with_scans,
};
use twat_cache_core::{CacheConfig, Policy};
use twat_cache_memory::MemoryCache;

/// The key space of the Zipf workloads.
const KEYS: usize = 100_000;
/// Requests per workload (the mix: per part).
const REQUESTS: usize = 500_000;

/// One seeded request stream and the cache size it is run with.
struct Workload {
    name: String,
    stream: Vec<u64>,
    capacity: usize,
}

fn workloads() -> Vec<Workload> {
    let zipf = |exponent: f64, capacity: usize| Workload {
        name: format!("zipf {exponent} · cap {capacity}"),
        stream: zipf_keys(REQUESTS, KEYS, exponent),
        capacity,
    };
    let mix = {
        // a day of traffic: skewed reads, a batch scan, a loop, a moved hot set
        let mut stream = zipf_keys(REQUESTS / 2, KEYS, 0.9);
        stream.extend(zipf_with_scans(REQUESTS / 4, KEYS, 0.9, 5_000, 2_000));
        stream.extend(loop_keys(REQUESTS / 8, 1_250));
        stream.extend(shifting_zipf_keys(REQUESTS / 2, KEYS, 0.8, 50_000));
        stream.extend(recency_keys(REQUESTS / 4, KEYS, 0.7, 500));
        Workload {
            name: "mix · cap 1000".into(),
            stream,
            capacity: 1_000,
        }
    };
    vec![
        zipf(0.6, 1_000),
        zipf(0.9, 100),
        zipf(0.9, 1_000),
        zipf(0.9, 10_000),
        zipf(1.2, 1_000),
        zipf(1.2, 100),
        Workload {
            name: "zipf 0.9 + scans · cap 1000".into(),
            stream: zipf_with_scans(REQUESTS, KEYS, 0.9, 5_000, 2_000),
            capacity: 1_000,
        },
        Workload {
            name: "loop 1.25× · cap 1000".into(),
            stream: loop_keys(REQUESTS, 1_250),
            capacity: 1_000,
        },
        Workload {
            name: "loop 1.1× · cap 10000".into(),
            stream: loop_keys(REQUESTS, 11_000),
            capacity: 10_000,
        },
        Workload {
            name: "shifting zipf 0.9 · cap 1000".into(),
            stream: shifting_zipf_keys(REQUESTS, KEYS, 0.9, 100_000),
            capacity: 1_000,
        },
        Workload {
            name: "recency 70% of last 500 · cap 1000".into(),
            stream: recency_keys(REQUESTS, KEYS, 0.7, 500),
            capacity: 1_000,
        },
        mix,
    ]
}

/// A contender: its name and how many requests of a stream it answers.
struct Contender {
    name: &'static str,
    peer: bool,
    hits: fn(&[u64], usize) -> u64,
}

fn ours(policy: Policy) -> impl Fn(&[u64], usize) -> u64 {
    move |stream, capacity| {
        let config = CacheConfig::builder()
            .maxsize(capacity as u64)
            .policy(policy)
            .build()
            .unwrap();
        let cache: MemoryCache<u64, u64> = MemoryCache::new(&config);
        for &id in stream {
            if cache.get(&id).is_none() {
                cache.insert(id, id);
            }
        }
        cache.stats().hits
    }
}

fn contenders() -> Vec<Contender> {
    vec![
        Contender {
            name: "ours lru",
            peer: false,
            hits: |s, c| ours(Policy::Lru)(s, c),
        },
        Contender {
            name: "ours lfu",
            peer: false,
            hits: |s, c| ours(Policy::Lfu)(s, c),
        },
        Contender {
            name: "ours fifo",
            peer: false,
            hits: |s, c| ours(Policy::Fifo)(s, c),
        },
        Contender {
            name: "ours rr",
            peer: false,
            hits: |s, c| ours(Policy::Random)(s, c),
        },
        Contender {
            name: "ours tinylfu",
            peer: false,
            hits: |s, c| ours(Policy::TinyLfu)(s, c),
        },
        Contender {
            name: "moka sync",
            peer: true,
            hits: |stream, capacity| {
                let cache = moka::sync::Cache::new(capacity as u64);
                let mut hits = 0;
                for &id in stream {
                    if cache.get(&id).is_some() {
                        hits += 1;
                    } else {
                        cache.insert(id, id);
                    }
                }
                hits
            },
        },
        Contender {
            name: "quick_cache",
            peer: true,
            hits: |stream, capacity| {
                let cache = quick_cache::sync::Cache::new(capacity);
                let mut hits = 0;
                for &id in stream {
                    if cache.get(&id).is_some() {
                        hits += 1;
                    } else {
                        cache.insert(id, id);
                    }
                }
                hits
            },
        },
        Contender {
            name: "cached LruCache",
            peer: true,
            hits: |stream, capacity| {
                let mut cache = LruCache::new(capacity);
                let mut hits = 0;
                for &id in stream {
                    if cache.cache_get(&id).is_some() {
                        hits += 1;
                    } else {
                        cache.cache_set(id, id);
                    }
                }
                hits
            },
        },
        Contender {
            name: "Bélády (optimum)",
            peer: false,
            hits: belady_hits,
        },
    ]
}

/// Runs per cache per workload: the hash seeds of the caches (ours, moka's, quick_cache's)
/// are drawn per instance, and a W-TinyLFU's sketch collisions follow them, so one run
/// can land a few tenths of a point off; the table shows the median of three.
const RUNS: usize = 3;

fn median_hits(contender: &Contender, workload: &Workload) -> u64 {
    if contender.name.starts_with("Bélády") || contender.name.starts_with("cached") {
        // deterministic
        return (contender.hits)(&workload.stream, workload.capacity);
    }
    let mut hits: Vec<u64> = (0..RUNS)
        .map(|_| (contender.hits)(&workload.stream, workload.capacity))
        .collect();
    hits.sort_unstable();
    hits.get(RUNS / 2).copied().unwrap_or_default()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument runs only matching workloads.
    // Criterion's own flags (`cargo xtask bench --quick` passes `--warm-up-time 0.5`, …)
    // mean nothing here: neither they nor their numeric values are filters.
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-') && arg.parse::<f64>().is_err())
        .unwrap_or_default();
    let started = Instant::now();
    let only = std::env::var("HITRATIO_CACHES").unwrap_or_default();
    let picked: Vec<&str> = only.split(',').filter(|word| !word.is_empty()).collect();
    let contenders: Vec<Contender> = contenders()
        .into_iter()
        .filter(|contender| {
            picked.is_empty() || picked.iter().any(|word| contender.name.contains(word))
        })
        .collect();
    let mut table = String::new();
    let mut header = String::from("| workload |");
    let mut rule = String::from("|---|");
    for contender in &contenders {
        let _ = write!(header, " {} |", contender.name);
        rule.push_str("---:|");
    }
    header.push_str(" tinylfu ÷ best peer | Bélády − tinylfu |");
    rule.push_str("---:|---:|");
    let _ = writeln!(table, "{header}\n{rule}");
    for workload in workloads()
        .into_iter()
        .filter(|workload| workload.name.contains(&filter))
    {
        let requests = workload.stream.len() as f64;
        let mut row = format!("| {} |", workload.name);
        let (mut tiny, mut best_peer, mut optimum) = (0.0_f64, 0.0_f64, 0.0_f64);
        for contender in &contenders {
            let ratio = median_hits(contender, &workload) as f64 / requests;
            let _ = write!(row, " {:.1} |", 100.0 * ratio);
            if contender.peer {
                best_peer = best_peer.max(ratio);
            }
            match contender.name {
                "ours tinylfu" => tiny = ratio,
                "Bélády (optimum)" => optimum = ratio,
                _ => {}
            }
        }
        let versus = if best_peer > 0.0 {
            format!("{:.3}", tiny / best_peer)
        } else {
            "—".into()
        };
        let _ = write!(row, " {versus} | {:.1} pts |", 100.0 * (optimum - tiny));
        println!("{row}");
        let _ = writeln!(table, "{row}");
    }
    let report = format!(
        "# Hit ratio (%), `cargo bench -p twat-cache-benches --bench hitratio`\n\n\
         Seeded streams of {REQUESTS} requests (the mix: 1.5 M) over {KEYS} keys unless \
         named; one thread, `get` then `insert` on a miss; the median of {RUNS} runs (hash \
         seeds differ per run).\n\n{table}"
    );
    println!("\n{report}");
    if !picked.is_empty() {
        println!("(HITRATIO_CACHES is set: a partial table, not written)");
        return;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let path = target.join("hitratio.md");
    match std::fs::write(&path, &report) {
        Ok(()) => println!("written to {}", path.display()),
        Err(error) => eprintln!("could not write {}: {error}", path.display()),
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}
