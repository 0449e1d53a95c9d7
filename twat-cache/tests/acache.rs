//! `#[acache]` (and `#[ucache]` on an `async fn`): awaited results, one computation per
//! key however many callers await it.
#![cfg(all(feature = "macros", feature = "async"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::sync::Mutex;

use twat_cache::{acache, get_stats, mcache, ucache};

static FETCH_CALLS: AtomicUsize = AtomicUsize::new(0);

#[acache(ttl = 300, maxsize = 1000, name = "tests::fetch")]
async fn fetch_external_data(url: &str) -> String {
    FETCH_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(30)).await;
    format!("data from {url}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_computation() {
    let calls: Vec<_> = (0..50)
        .map(|_| tokio::spawn(fetch_external_data("https://example.org/a")))
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "data from https://example.org/a");
    }
    assert_eq!(FETCH_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        fetch_external_data("https://example.org/a").await,
        "data from https://example.org/a"
    );
    assert_eq!(FETCH_CALLS.load(Ordering::SeqCst), 1);
    let stats = get_stats(Some("tests::fetch")).unwrap();
    // Callers that waited for the one computation found no value: they count as misses.
    assert_eq!(stats.misses, 50);
    assert_eq!(stats.hits, 1);
    assert_eq!(stats.inserts, 1);
}

static CURRENT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[acache]
async fn on_current_thread(x: u64) -> u64 {
    CURRENT_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    x * 2
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let (a, b, c) = tokio::join!(
        on_current_thread(4),
        on_current_thread(4),
        on_current_thread(5)
    );
    assert_eq!((a, b, c), (8, 8, 10));
    assert_eq!(CURRENT_CALLS.load(Ordering::SeqCst), 2);
}

static PARSE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[acache]
async fn parse_later(text: &str) -> Result<u32, String> {
    PARSE_CALLS.fetch_add(1, Ordering::SeqCst);
    text.parse::<u32>().map_err(|err| err.to_string())
}

#[tokio::test]
async fn ok_is_cached_err_is_not() {
    assert_eq!(parse_later("7").await, Ok(7));
    assert_eq!(parse_later("7").await, Ok(7));
    assert!(parse_later("x").await.is_err());
    assert!(parse_later("x").await.is_err());
    assert_eq!(PARSE_CALLS.load(Ordering::SeqCst), 3);
}

static IO_CALLS: AtomicUsize = AtomicUsize::new(0);

/// `io::Error` is not `Clone`: errors stay with the caller that ran the body.
#[acache]
async fn read_size(name: &str) -> std::io::Result<usize> {
    IO_CALLS.fetch_add(1, Ordering::SeqCst);
    if name.is_empty() {
        return Err(std::io::Error::other("no name"));
    }
    Ok(name.len())
}

#[tokio::test]
async fn non_clone_errors_work() {
    assert_eq!(read_size("abc").await.unwrap(), 3);
    assert_eq!(read_size("abc").await.unwrap(), 3);
    assert!(read_size("").await.is_err());
    assert!(read_size("").await.is_err());
    assert_eq!(IO_CALLS.load(Ordering::SeqCst), 3);
}

#[acache]
async fn spawnable(x: u8) -> String {
    tokio::task::yield_now().await;
    format!("spawned {x}")
}

struct Client {
    base: String,
}

impl Client {
    #[acache(skip(self))]
    async fn get(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

#[tokio::test]
async fn methods_and_send_futures() {
    let client = Client {
        base: "https://h/".into(),
    };
    assert_eq!(client.get("x").await, "https://h/x");
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let handle = tokio::spawn(assert_send(spawnable(3)));
    assert_eq!(handle.await.unwrap(), "spawned 3");
}

static UNIVERSAL_CALLS: AtomicUsize = AtomicUsize::new(0);

#[ucache(ttl = 60)]
async fn universal_async(x: u32) -> u32 {
    UNIVERSAL_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    x + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ucache_on_an_async_fn_uses_the_async_engine() {
    let calls: Vec<_> = (0..10).map(|_| tokio::spawn(universal_async(1))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 2);
    }
    // Single-flight across awaits: only the async engine does this.
    assert_eq!(UNIVERSAL_CALLS.load(Ordering::SeqCst), 1);
}

/// Which arguments ran the body, in order, one log per memoized function below.
static ASYNC_FIFO_RUNS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static MEMORY_FIFO_RUNS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static UNIVERSAL_FIFO_RUNS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static ASYNC_LFU_RUNS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static MEMORY_LFU_RUNS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[acache(maxsize = 2, policy = "fifo")]
async fn async_fifo(x: u32) -> u32 {
    ASYNC_FIFO_RUNS.lock().unwrap().push(x);
    x * 10
}

#[mcache(maxsize = 2, policy = "fifo")]
fn memory_fifo(x: u32) -> u32 {
    MEMORY_FIFO_RUNS.lock().unwrap().push(x);
    x * 10
}

#[ucache(maxsize = 2, policy = "fifo")]
async fn universal_fifo(x: u32) -> u32 {
    UNIVERSAL_FIFO_RUNS.lock().unwrap().push(x);
    x * 10
}

#[acache(maxsize = 2, policy = "lfu")]
async fn async_lfu(x: u32) -> u32 {
    ASYNC_LFU_RUNS.lock().unwrap().push(x);
    x * 10
}

#[mcache(maxsize = 2, policy = "lfu")]
fn memory_lfu(x: u32) -> u32 {
    MEMORY_LFU_RUNS.lock().unwrap().push(x);
    x * 10
}

fn runs(log: &Mutex<Vec<u32>>) -> Vec<u32> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn acache_fifo_evicts_exactly_like_mcache() {
    // 1 is read before 3 arrives: FIFO still evicts it (LRU would evict 2 and run the
    // body three times, not four).
    let calls = [1, 2, 1, 3, 1];
    for x in calls {
        assert_eq!(async_fifo(x).await, x * 10);
        assert_eq!(memory_fifo(x), x * 10);
        assert_eq!(universal_fifo(x).await, x * 10);
    }
    assert_eq!(runs(&MEMORY_FIFO_RUNS), [1, 2, 3, 1]);
    assert_eq!(runs(&ASYNC_FIFO_RUNS), runs(&MEMORY_FIFO_RUNS));
    assert_eq!(
        runs(&UNIVERSAL_FIFO_RUNS),
        runs(&MEMORY_FIFO_RUNS),
        "#[ucache(policy)] on an async fn is honoured"
    );
}

#[tokio::test]
async fn acache_lfu_evicts_exactly_like_mcache() {
    // 1 is used twice, then 2 and 3 once each: LFU keeps 1 and evicts 2 (LRU and FIFO
    // would evict 1, running the body five times).
    let calls = [1, 1, 2, 3, 1, 2];
    for x in calls {
        assert_eq!(async_lfu(x).await, x * 10);
        assert_eq!(memory_lfu(x), x * 10);
    }
    assert_eq!(runs(&MEMORY_LFU_RUNS), [1, 2, 3, 2]);
    assert_eq!(runs(&ASYNC_LFU_RUNS), runs(&MEMORY_LFU_RUNS));
}

static ASYNC_TINY_RUNS: AtomicUsize = AtomicUsize::new(0);
static ASYNC_LRU_RUNS: AtomicUsize = AtomicUsize::new(0);
static UNIVERSAL_BOUNDED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[acache(maxsize = 10, policy = "tinylfu", name = "tests::async_tinylfu")]
async fn async_tinylfu(x: u32) -> u32 {
    ASYNC_TINY_RUNS.fetch_add(1, Ordering::SeqCst);
    x * 10
}

#[acache(maxsize = 10, name = "tests::async_lru")]
async fn async_lru(x: u32) -> u32 {
    ASYNC_LRU_RUNS.fetch_add(1, Ordering::SeqCst);
    x * 10
}

#[ucache(maxsize = 10, name = "tests::universal_bounded")]
async fn universal_bounded(x: u32) -> u32 {
    UNIVERSAL_BOUNDED_RUNS.fetch_add(1, Ordering::SeqCst);
    x * 10
}

#[tokio::test]
async fn acache_tinylfu_keeps_part_of_a_loop_lru_cannot() {
    // Five laps over 12 keys through caches of 10: exact LRU evicts every key just before
    // it comes back (60 runs); W-TinyLFU refuses newcomers no more frequent than its
    // victims, so most of its main region survives every lap.
    for _ in 0..5 {
        for x in 0..12 {
            assert_eq!(async_tinylfu(x).await, x * 10);
            assert_eq!(async_lru(x).await, x * 10);
            assert_eq!(universal_bounded(x).await, x * 10);
        }
    }
    assert_eq!(ASYNC_LRU_RUNS.load(Ordering::SeqCst), 60);
    let tiny = get_stats(Some("tests::async_tinylfu")).unwrap();
    assert_eq!(tiny.hits + tiny.misses, 60);
    assert!(tiny.hits >= 24, "{tiny:?}");
    assert_eq!(ASYNC_TINY_RUNS.load(Ordering::SeqCst) as u64, tiny.misses);
    assert!(tiny.size <= 10);
    // `#[ucache]` with a maxsize and no policy picks W-TinyLFU: it runs as the tinylfu
    // cache does, not as LRU.
    let universal = get_stats(Some("tests::universal_bounded")).unwrap();
    assert!(universal.hits >= 24, "{universal:?}");
}
