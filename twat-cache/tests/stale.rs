//! Stale-while-revalidate (`stale = …`, `stale_if_error = true`) on every attribute:
//! during the stale window callers get the old value at once while exactly one caller
//! recomputes; after it, a plain miss. Ordering is forced with gates and channels, never
//! by timing how fast something was; the sleeps only let a short `ttl` pass.
//!
//! Persistent engines run in a child process whose `TWAT_CACHE_DIR` is a fresh temporary
//! folder (see `common`).
#![cfg(all(
    feature = "macros",
    feature = "disk",
    feature = "file",
    feature = "async"
))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::in_child;
use twat_cache::get_stats;

/// The `ttl` of the functions below, except `once_*` (1 s) and `short_*`.
const TTL: Duration = Duration::from_millis(300);
/// The longest a test waits for something that must happen.
const PATIENCE: Duration = Duration::from_secs(20);

/// What a test controls in a function body: how often it ran, whether it stops at a
/// gate, fails or panics.
struct Control {
    runs: AtomicUsize,
    closed: Mutex<bool>,
    opened: Condvar,
    fail: AtomicBool,
    panic: AtomicBool,
}

impl Control {
    const fn new() -> Self {
        Self {
            runs: AtomicUsize::new(0),
            closed: Mutex::new(false),
            opened: Condvar::new(),
            fail: AtomicBool::new(false),
            panic: AtomicBool::new(false),
        }
    }

    /// Counts the run, stops at the gate while it is closed, then panics if asked to;
    /// returns `100 × run + x`.
    fn run(&self, x: u32) -> u32 {
        let n = self.count();
        let mut closed = self.closed.lock().unwrap();
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
        drop(closed);
        self.finish(n, x)
    }

    /// [`Control::run`] with an awaited gate.
    async fn run_async(&self, x: u32) -> u32 {
        let n = self.count();
        while *self.closed.lock().unwrap() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.finish(n, x)
    }

    fn count(&self) -> u32 {
        u32::try_from(self.runs.fetch_add(1, Ordering::SeqCst) + 1).unwrap()
    }

    fn finish(&self, n: u32, x: u32) -> u32 {
        assert!(
            !self.panic.load(Ordering::SeqCst),
            "the body panics on purpose"
        );
        n * 100 + x
    }

    /// `Err` instead of the value when asked to fail.
    fn outcome(&self, value: u32) -> Result<u32, String> {
        if self.fail.load(Ordering::SeqCst) {
            Err(format!("run {value} failed"))
        } else {
            Ok(value)
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }

    fn set_fail(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    fn set_panic(&self, panic: bool) {
        self.panic.store(panic, Ordering::SeqCst);
    }

    /// Waits until the body has started `n` times.
    fn wait_for_runs(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.runs() < n {
            assert!(Instant::now() < deadline, "the body never ran {n} times");
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn past(ttl: Duration) {
    thread::sleep(ttl + Duration::from_millis(150));
}

fn stale_hits(name: &str) -> u64 {
    let stats = get_stats(Some(name)).expect("the cache is registered");
    assert!(stats.hits >= stats.stale_hits, "{stats:?}");
    stats.stale_hits
}

// --- the scenarios, for plain functions -------------------------------------------------

/// While one caller refreshes (held at the gate), eight others get the old value at once.
fn serves_stale_while_one_refreshes(f: fn(u32) -> u32, control: &Control, name: &str) {
    assert_eq!(f(1), 101);
    past(TTL);
    control.close();
    let refresher = thread::spawn(move || f(1));
    control.wait_for_runs(2);
    let (sender, answers) = mpsc::channel();
    for _ in 0..8 {
        let sender = sender.clone();
        thread::spawn(move || sender.send(f(1)).unwrap());
    }
    for _ in 0..8 {
        let answer = answers
            .recv_timeout(PATIENCE)
            .expect("a caller waited for the refresh");
        assert_eq!(answer, 101);
    }
    assert_eq!(control.runs(), 2);
    control.open();
    assert_eq!(refresher.join().unwrap(), 201);
    assert_eq!(f(1), 201);
    assert_eq!(control.runs(), 2);
    assert!(stale_hits(name) >= 8);
}

/// Eight threads calling an expired key at once: the body runs once per expiry.
fn runs_once_per_expiry(f: fn(u32) -> u32, control: &Control) {
    assert_eq!(f(2), 102);
    for round in 2..=3_u32 {
        past(Duration::from_secs(1));
        let barrier = Arc::new(Barrier::new(8));
        let answers: Vec<u32> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    f(2)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        assert_eq!(control.runs(), round as usize, "{answers:?}");
        let (old, new) = ((round - 1) * 100 + 2, round * 100 + 2);
        assert!(
            answers.iter().all(|a| *a == old || *a == new),
            "{answers:?}"
        );
        assert!(answers.contains(&new), "the refresher gets its value");
    }
}

/// `stale_if_error`: a refresh returning `Err` serves the old value, to the refreshing
/// caller too; the next caller tries again; a success replaces it.
fn serves_stale_on_err(f: fn(u32) -> Result<u32, String>, control: &Control, name: &str) {
    assert_eq!(f(3), Ok(103));
    control.set_fail(true);
    past(TTL);
    assert_eq!(f(3), Ok(103));
    assert_eq!(control.runs(), 2);
    assert_eq!(f(3), Ok(103));
    assert_eq!(control.runs(), 3);
    control.set_fail(false);
    assert_eq!(f(3), Ok(403));
    assert_eq!(f(3), Ok(403));
    assert_eq!(control.runs(), 4);
    assert!(stale_hits(name) >= 2);
}

/// `stale_if_error`: a refresh that panics serves the old value.
fn serves_stale_on_panic(f: fn(u32) -> u32, control: &Control) {
    assert_eq!(f(4), 104);
    control.set_panic(true);
    past(TTL);
    assert_eq!(f(4), 104);
    assert_eq!(control.runs(), 2);
    control.set_panic(false);
    assert_eq!(f(4), 304);
    assert_eq!(f(4), 304);
}

/// Without `stale_if_error` the refreshing caller gets its `Err` (or panic) while the
/// others keep getting the old value; a later caller refreshes again.
fn without_stale_if_error(f: fn(u32) -> Result<u32, String>, control: &Control) {
    assert_eq!(f(5), Ok(105));
    control.set_fail(true);
    past(TTL);
    control.close();
    let refresher = thread::spawn(move || f(5));
    control.wait_for_runs(2);
    let (sender, answer) = mpsc::channel();
    thread::spawn(move || sender.send(f(5)).unwrap());
    assert_eq!(answer.recv_timeout(PATIENCE).unwrap(), Ok(105));
    control.open();
    assert_eq!(refresher.join().unwrap(), Err("run 205 failed".to_owned()));
    control.set_fail(false);
    control.set_panic(true);
    assert!(
        thread::spawn(move || f(5)).join().is_err(),
        "the panic reaches the refresher"
    );
    control.set_panic(false);
    assert_eq!(f(5), Ok(405));
    assert_eq!(f(5), Ok(405));
}

/// After `ttl + stale` an entry is a plain miss: the caller waits for the body.
fn plain_miss_after_the_window(f: fn(u32) -> u32, control: &Control, name: &str) {
    assert_eq!(f(6), 106);
    past(Duration::from_millis(300) + Duration::from_millis(200));
    let before = stale_hits(name);
    assert_eq!(f(6), 206);
    assert_eq!(control.runs(), 2);
    assert_eq!(stale_hits(name), before);
}

/// The functions of one plain-function attribute, each with its own cache and control,
/// and the test running every scenario on them. `$args` are each function's extra
/// arguments (its folder, for persistent engines).
macro_rules! sync_suite {
    ($suite:ident, $attr:ident,
     { $($plain:tt)* } { $($once:tt)* } { $($err:tt)* } { $($panic:tt)* } { $($strict:tt)* } { $($short:tt)* }) => {
        mod $suite {
            use super::*;
            use twat_cache::$attr;

            static PLAIN: Control = Control::new();
            static ONCE: Control = Control::new();
            static ERR: Control = Control::new();
            static PANIC: Control = Control::new();
            static STRICT: Control = Control::new();
            static SHORT: Control = Control::new();

            #[$attr(ttl = 0.3, stale = "1h" $($plain)*)]
            fn plain(x: u32) -> u32 {
                PLAIN.run(x)
            }

            #[$attr(ttl = 1, stale = "1h" $($once)*)]
            fn once(x: u32) -> u32 {
                ONCE.run(x)
            }

            #[$attr(ttl = "300ms", stale = 3600, stale_if_error = true $($err)*)]
            fn err(x: u32) -> Result<u32, String> {
                ERR.outcome(ERR.run(x))
            }

            #[$attr(ttl = 0.3, stale = "1h", stale_if_error = true $($panic)*)]
            fn panics(x: u32) -> u32 {
                PANIC.run(x)
            }

            #[$attr(ttl = 0.3, stale = "1h" $($strict)*)]
            fn strict(x: u32) -> Result<u32, String> {
                STRICT.outcome(STRICT.run(x))
            }

            #[$attr(ttl = 0.1, stale = 0.2 $($short)*)]
            fn short(x: u32) -> u32 {
                SHORT.run(x)
            }

            pub(crate) fn all() {
                let name = |function: &str| format!("{}::{function}", module_path!());
                thread::scope(|scope| {
                    scope.spawn(|| serves_stale_while_one_refreshes(plain, &PLAIN, &name("plain")));
                    scope.spawn(|| runs_once_per_expiry(once, &ONCE));
                    scope.spawn(|| serves_stale_on_err(err, &ERR, &name("err")));
                    scope.spawn(|| serves_stale_on_panic(panics, &PANIC));
                    scope.spawn(|| without_stale_if_error(strict, &STRICT));
                    scope.spawn(|| plain_miss_after_the_window(short, &SHORT, &name("short")));
                });
            }
        }
    };
}

sync_suite!(mcache_suite, mcache, {} {} {} {} {} {});
sync_suite!(ucache_suite, ucache, {} {} {} {} {} {});
sync_suite!(bcache_suite, bcache,
    { , folder = "plain" } { , folder = "once" } { , folder = "err" }
    { , folder = "panics" } { , folder = "strict" } { , folder = "short" });
sync_suite!(fcache_suite, fcache,
    { , folder = "plain" } { , folder = "once" } { , folder = "err" }
    { , folder = "panics" } { , folder = "strict" } { , folder = "short" });

#[test]
fn mcache_serves_stale_while_one_caller_refreshes() {
    mcache_suite::all();
}

#[test]
fn ucache_serves_stale_while_one_caller_refreshes() {
    ucache_suite::all();
}

static WEIGHED: Control = Control::new();

/// A cache bounded by bytes keeps its bound with a `stale` window (entries weigh their
/// key and value, not the freshness stamp).
#[twat_cache::mcache(maxsize = "1 MiB", ttl = 0.3, stale = "1h", name = "stale::weighed")]
fn weighed(x: u32) -> String {
    WEIGHED.run(x).to_string()
}

#[test]
fn a_weighed_cache_serves_stale_too() {
    assert_eq!(weighed(7), "107");
    past(TTL);
    assert_eq!(weighed(7), "207");
    assert_eq!(weighed(7), "207");
    let stats = get_stats(Some("stale::weighed")).unwrap();
    assert_eq!(stats.size, 1);
    assert!(stats.weight > 3 && stats.weight <= 1024 * 1024, "{stats:?}");
}

#[test]
fn bcache_serves_stale_while_one_caller_refreshes() {
    in_child("bcache_serves_stale_while_one_caller_refreshes", || {
        bcache_suite::all();
    });
}

#[test]
fn fcache_serves_stale_while_one_caller_refreshes() {
    in_child("fcache_serves_stale_while_one_caller_refreshes", || {
        fcache_suite::all();
    });
}

static HOLDER: Control = Control::new();
static OTHER: Control = Control::new();

// Two handles on one cache (same folder, name, version and types), as two processes
// sharing a folder would have: each keeps its own in-process refresh marks, so only the
// folder's per-key lease stops the second from refreshing too.
macro_rules! shared_refresh_handle {
    ($name:ident, $control:ident) => {
        #[twat_cache::fcache(
            folder = "shared_refresh",
            name = "stale::shared_refresh",
            version = 1,
            ttl = 0.3,
            stale = "1h"
        )]
        fn $name(x: u32) -> u32 {
            $control.run(x)
        }
    };
}
shared_refresh_handle!(holder, HOLDER);
shared_refresh_handle!(other, OTHER);

#[test]
fn a_refresh_under_way_elsewhere_is_not_repeated() {
    in_child("a_refresh_under_way_elsewhere_is_not_repeated", || {
        assert_eq!(holder(5), 105);
        past(TTL);
        HOLDER.close();
        let refreshing = thread::spawn(|| holder(5));
        HOLDER.wait_for_runs(2);
        // The holder refreshes under the key's lease in the folder: the other handle
        // serves the old value without running its body.
        assert_eq!(other(5), 105);
        assert_eq!(OTHER.runs(), 0, "the other handle refreshed too");
        HOLDER.open();
        assert_eq!(refreshing.join().unwrap(), 205);
    });
}

// --- the scenarios, for async functions -------------------------------------------------

async fn serves_stale_while_one_task_refreshes<F, Fut>(f: F, control: &Control, name: &str)
where
    F: Fn(u32) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = u32> + Send + 'static,
{
    assert_eq!(f(1).await, 101);
    tokio::time::sleep(TTL + Duration::from_millis(150)).await;
    control.close();
    let refresher = tokio::spawn(f(1));
    let deadline = Instant::now() + PATIENCE;
    while control.runs() < 2 {
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let callers: Vec<_> = (0..8).map(|_| tokio::spawn(f(1))).collect();
    for caller in callers {
        let answer = tokio::time::timeout(PATIENCE, caller)
            .await
            .expect("a task waited for the refresh")
            .unwrap();
        assert_eq!(answer, 101);
    }
    assert_eq!(control.runs(), 2);
    control.open();
    assert_eq!(refresher.await.unwrap(), 201);
    assert_eq!(f(1).await, 201);
    assert_eq!(control.runs(), 2);
    assert!(stale_hits(name) >= 8);
}

async fn runs_once_per_expiry_async<F, Fut>(f: F, control: &Control)
where
    F: Fn(u32) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = u32> + Send + 'static,
{
    assert_eq!(f(2).await, 102);
    for round in 2..=3_u32 {
        tokio::time::sleep(Duration::from_millis(1150)).await;
        let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(f(2))).collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        assert_eq!(control.runs(), round as usize, "{answers:?}");
        let (old, new) = ((round - 1) * 100 + 2, round * 100 + 2);
        assert!(
            answers.iter().all(|a| *a == old || *a == new),
            "{answers:?}"
        );
    }
}

async fn serves_stale_on_err_async<F, Fut>(f: F, control: &Control)
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<u32, String>>,
{
    assert_eq!(f(3).await, Ok(103));
    control.set_fail(true);
    tokio::time::sleep(TTL + Duration::from_millis(150)).await;
    assert_eq!(f(3).await, Ok(103));
    assert_eq!(f(3).await, Ok(103));
    assert_eq!(control.runs(), 3);
    control.set_fail(false);
    assert_eq!(f(3).await, Ok(403));
    assert_eq!(control.runs(), 4);
}

async fn serves_stale_on_panic_async<F, Fut>(f: F, control: &Control)
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = u32>,
{
    assert_eq!(f(4).await, 104);
    control.set_panic(true);
    tokio::time::sleep(TTL + Duration::from_millis(150)).await;
    assert_eq!(f(4).await, 104);
    assert_eq!(control.runs(), 2);
    control.set_panic(false);
    assert_eq!(f(4).await, 304);
}

async fn without_stale_if_error_async<F, Fut>(f: F, control: &Control)
where
    F: Fn(u32) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<u32, String>> + Send + 'static,
{
    assert_eq!(f(5).await, Ok(105));
    control.set_fail(true);
    tokio::time::sleep(TTL + Duration::from_millis(150)).await;
    control.close();
    let refresher = tokio::spawn(f(5));
    let deadline = Instant::now() + PATIENCE;
    while control.runs() < 2 {
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let other = tokio::time::timeout(PATIENCE, f(5)).await.unwrap();
    assert_eq!(other, Ok(105));
    control.open();
    assert_eq!(refresher.await.unwrap(), Err("run 205 failed".to_owned()));
    control.set_fail(false);
    assert_eq!(f(5).await, Ok(305));
}

async fn plain_miss_after_the_window_async<F, Fut>(f: F, control: &Control)
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = u32>,
{
    assert_eq!(f(6).await, 106);
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert_eq!(f(6).await, 206);
    assert_eq!(control.runs(), 2);
}

/// As [`sync_suite`], for `async fn`s.
macro_rules! async_suite {
    ($suite:ident, $attr:ident,
     { $($plain:tt)* } { $($once:tt)* } { $($err:tt)* } { $($panic:tt)* } { $($strict:tt)* } { $($short:tt)* }) => {
        mod $suite {
            use super::*;
            use twat_cache::$attr;

            static PLAIN: Control = Control::new();
            static ONCE: Control = Control::new();
            static ERR: Control = Control::new();
            static PANIC: Control = Control::new();
            static STRICT: Control = Control::new();
            static SHORT: Control = Control::new();

            #[$attr(ttl = 0.3, stale = "1h" $($plain)*)]
            async fn plain(x: u32) -> u32 {
                PLAIN.run_async(x).await
            }

            #[$attr(ttl = 1, stale = "1h" $($once)*)]
            async fn once(x: u32) -> u32 {
                ONCE.run_async(x).await
            }

            #[$attr(ttl = 0.3, stale = "1h", stale_if_error = true $($err)*)]
            async fn err(x: u32) -> Result<u32, String> {
                ERR.outcome(ERR.run_async(x).await)
            }

            #[$attr(ttl = 0.3, stale = "1h", stale_if_error = true $($panic)*)]
            async fn panics(x: u32) -> u32 {
                PANIC.run_async(x).await
            }

            #[$attr(ttl = 0.3, stale = "1h" $($strict)*)]
            async fn strict(x: u32) -> Result<u32, String> {
                STRICT.outcome(STRICT.run_async(x).await)
            }

            #[$attr(ttl = 0.1, stale = 0.2 $($short)*)]
            async fn short(x: u32) -> u32 {
                SHORT.run_async(x).await
            }

            pub(crate) fn all() {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap();
                let name = format!("{}::plain", module_path!());
                runtime.block_on(async {
                    tokio::join!(
                        serves_stale_while_one_task_refreshes(plain, &PLAIN, &name),
                        runs_once_per_expiry_async(once, &ONCE),
                        serves_stale_on_err_async(err, &ERR),
                        serves_stale_on_panic_async(panics, &PANIC),
                        without_stale_if_error_async(strict, &STRICT),
                        plain_miss_after_the_window_async(short, &SHORT),
                    );
                });
            }
        }
    };
}

async_suite!(acache_suite, acache, { } {} {} {} {} {});
async_suite!(acache_folder_suite, acache,
    { , folder = "plain" } { , folder = "once" } { , folder = "err" }
    { , folder = "panics" } { , folder = "strict" } { , folder = "short" });

#[test]
fn acache_serves_stale_while_one_task_refreshes() {
    acache_suite::all();
}

#[test]
fn acache_folder_serves_stale_while_one_task_refreshes() {
    in_child(
        "acache_folder_serves_stale_while_one_task_refreshes",
        || {
            acache_folder_suite::all();
        },
    );
}

#[test]
fn stale_without_ttl_is_refused_by_the_config() {
    let refused = twat_cache::CacheConfig::builder()
        .stale(Duration::from_secs(300))
        .build()
        .unwrap_err();
    assert!(
        refused.to_string().contains("`stale` needs a `ttl`"),
        "{refused}"
    );
}
