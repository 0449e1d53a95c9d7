//! Real file-system faults under the persistent caches — `#[bcache]`, `#[fcache]` and
//! `CacheContext` over the disk and file engines: a full disk, a cache root that turns
//! read-only, the cache folder deleted, and the cache folder replaced by a file, each
//! while the cache is running. For every call the result must equal the body's, nothing
//! may panic, write failures are counted, and once the fault is gone caching resumes.
//!
//! Each (fault, cache) pair runs in a child process (re-running this test binary) whose
//! `TWAT_CACHE_DIR` is a fresh folder. A full disk and a read-only root need a real file
//! system to fail: the child runs under `unshare -m --propagation private` (so nothing it
//! mounts is seen outside it), mounts a 1 MiB `tmpfs` as its cache root, and
//! - fills it with a file until `ENOSPC`, later deletes that file;
//! - covers the root with a read-only bind mount of itself, later unmounts it. (Linux
//!   refuses `mount -o remount,ro` while a file on the file system is open for writing,
//!   as fjall's journal is; the bind mount makes every new open, create and rename fail
//!   with `EROFS` while files already open keep working — what a remount would do to a
//!   cache that holds no open files.)
//!
//! Where mounting is not permitted (not root, no mount namespaces), those two tests
//! print one line saying they were skipped — unless `TWAT_CACHE_REQUIRE_FAULTS=1` (set
//! by CI), where that fails. The folder faults need no privileges and always run.
#![cfg(all(unix, feature = "macros", feature = "disk", feature = "file"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;

use std::cell::Cell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{is_child, reported};
use twat_cache::{CacheConfig, CacheContext, EngineKind, Stats, bcache, fcache, get_stats};

/// Which scenario a child runs: `<fault>:<cache>`.
const SCENARIO_ENV: &str = "TWAT_CACHE_FAULT_SCENARIO";
/// Set to `1` to make a fault test fail where it would be skipped.
const REQUIRE_ENV: &str = "TWAT_CACHE_REQUIRE_FAULTS";

const BCACHE: &str = "faults::bcache";
const FCACHE: &str = "faults::fcache";
const FOLDER: &str = "fault_cache";

static BODY_RUNS: AtomicU64 = AtomicU64::new(0);

/// The function every cache memoizes: about 1 KiB per value, different for every `n`.
fn body(n: u64) -> Vec<u64> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    (0..128).map(|i| n.wrapping_mul(0x9E37_79B9) ^ i).collect()
}

fn expected(n: u64) -> Vec<u64> {
    (0..128).map(|i| n.wrapping_mul(0x9E37_79B9) ^ i).collect()
}

#[bcache(folder = "fault_cache", name = "faults::bcache")]
fn disk_value(n: u64) -> Vec<u64> {
    body(n)
}

#[fcache(folder = "fault_cache", name = "faults::fcache")]
fn file_value(n: u64) -> Vec<u64> {
    body(n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    DiskFull,
    ReadOnly,
    FolderDeleted,
    FolderReplaced,
}

impl Fault {
    const fn name(self) -> &'static str {
        match self {
            Self::DiskFull => "disk_full",
            Self::ReadOnly => "read_only",
            Self::FolderDeleted => "folder_deleted",
            Self::FolderReplaced => "folder_replaced",
        }
    }

    fn parse(text: &str) -> Self {
        [
            Self::DiskFull,
            Self::ReadOnly,
            Self::FolderDeleted,
            Self::FolderReplaced,
        ]
        .into_iter()
        .find(|fault| fault.name() == text)
        .unwrap_or_else(|| panic!("unknown fault {text}"))
    }

    const fn needs_mount(self) -> bool {
        matches!(self, Self::DiskFull | Self::ReadOnly)
    }
}

/// The cache under test, as a user's code would call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Front {
    Bcache,
    Fcache,
    ContextDisk,
    ContextFile,
}

impl Front {
    const ALL: [Self; 4] = [
        Self::Bcache,
        Self::Fcache,
        Self::ContextDisk,
        Self::ContextFile,
    ];

    const fn name(self) -> &'static str {
        match self {
            Self::Bcache => "bcache",
            Self::Fcache => "fcache",
            Self::ContextDisk => "context_disk",
            Self::ContextFile => "context_file",
        }
    }

    fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|front| front.name() == text)
            .unwrap_or_else(|| panic!("unknown cache {text}"))
    }
}

/// One cache under test in the child, with what it has answered.
struct Subject {
    front: Front,
    context: Option<CacheContext>,
    /// Errors `CacheContext` returned to the caller (the attributes count theirs).
    returned_errors: Cell<u64>,
    calls: Cell<u64>,
    wrong: Cell<u64>,
}

impl Subject {
    fn open(front: Front) -> Self {
        let engine = match front {
            Front::ContextDisk => Some(EngineKind::Disk),
            Front::ContextFile => Some(EngineKind::File),
            Front::Bcache | Front::Fcache => None,
        };
        let context = engine.map(|engine| {
            let config = CacheConfig::builder()
                .name(format!("faults::{}", front.name()))
                .engine(engine)
                .folder(FOLDER)
                .build()
                .unwrap();
            CacheContext::new(config).unwrap()
        });
        Self {
            front,
            context,
            returned_errors: Cell::new(0),
            calls: Cell::new(0),
            wrong: Cell::new(0),
        }
    }

    /// One call of the memoized function, checked against the body's result.
    fn call(&self, n: u64) {
        let answer = match (self.front, &self.context) {
            (Front::Bcache, _) => disk_value(n),
            (Front::Fcache, _) => file_value(n),
            (_, Some(cache)) => self.through_context(cache, n),
            (_, None) => unreachable!("contexts are opened with their subject"),
        };
        self.calls.set(self.calls.get() + 1);
        if answer != expected(n) {
            self.wrong.set(self.wrong.get() + 1);
        }
    }

    /// The get-or-compute a user writes with a `CacheContext`: a failing cache is only
    /// a miss, and a failed store is dropped.
    fn through_context(&self, cache: &CacheContext, n: u64) -> Vec<u64> {
        match cache.get::<_, Vec<u64>>(&n) {
            Ok(Some(value)) => return value,
            Ok(None) => {}
            Err(_) => self.returned_errors.set(self.returned_errors.get() + 1),
        }
        let value = body(n);
        if cache.set(&n, &value).is_err() {
            self.returned_errors.set(self.returned_errors.get() + 1);
        }
        value
    }

    fn stats(&self) -> Stats {
        match (self.front, &self.context) {
            (Front::Bcache, _) => get_stats(Some(BCACHE)).unwrap_or_default(),
            (Front::Fcache, _) => get_stats(Some(FCACHE)).unwrap_or_default(),
            (_, Some(cache)) => cache.stats(),
            (_, None) => Stats::default(),
        }
    }

    /// Every failure seen so far: counted by the cache, or returned by a context.
    fn errors(&self) -> u64 {
        self.stats().errors + self.returned_errors.get()
    }
}

/// Runs `program` with `args`, panicking with its output if it fails.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fills the file system holding `root` with one file until a write fails.
fn fill(root: &Path) -> PathBuf {
    let path = root.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = [0xA5_u8; 4096];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_data())
        .is_ok()
    {}
    // Whatever is left is smaller than a page: one more byte at a time.
    while file.write_all(&[0]).and_then(|()| file.sync_data()).is_ok() {}
    path
}

/// Child side: injects `fault` under a running `front` and checks every answer.
fn run_scenario(fault: Fault, front: Front) {
    let root = PathBuf::from(std::env::var_os("TWAT_CACHE_DIR").unwrap());
    if fault.needs_mount() {
        let root = root.to_str().unwrap();
        run(
            "mount",
            &["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", root],
        );
    }
    let subject = Subject::open(front);
    let folder = root.join(FOLDER);

    // Before the fault: entries 0..16 are stored.
    for n in 0..16 {
        subject.call(n);
    }
    let errors_before = subject.errors();
    let mut filler = None;
    match fault {
        Fault::DiskFull => filler = Some(fill(&root)),
        Fault::ReadOnly => {
            let root = root.to_str().unwrap();
            run("mount", &["--bind", root, root]);
            run("mount", &["-o", "remount,bind,ro", root]);
        }
        Fault::FolderDeleted => std::fs::remove_dir_all(&folder).unwrap(),
        Fault::FolderReplaced => {
            std::fs::remove_dir_all(&folder).unwrap();
            std::fs::write(&folder, b"someone else's file").unwrap();
        }
    }

    // Under the fault: old entries, new ones, and each of them again.
    for _ in 0..2 {
        for n in 0..200 {
            subject.call(n);
        }
    }
    let fault_errors = subject.errors() - errors_before;

    // The fault goes away; new entries must be cached again (the second pass is hits).
    match fault {
        Fault::DiskFull => std::fs::remove_file(filler.unwrap()).unwrap(),
        Fault::ReadOnly => run("umount", &[root.to_str().unwrap()]),
        Fault::FolderDeleted => {}
        Fault::FolderReplaced => std::fs::remove_file(&folder).unwrap(),
    }
    // (The disk engine reopens its database after a failed write, retrying every 100 ms
    // while that fails: allow a few seconds, far more than it needs.)
    let mut resumed = false;
    for attempt in 0..50 {
        let keys = 1_000 + attempt * 20..1_020 + attempt * 20;
        for n in keys.clone() {
            subject.call(n);
        }
        let runs_before = BODY_RUNS.load(Ordering::SeqCst);
        for n in keys {
            subject.call(n);
        }
        if BODY_RUNS.load(Ordering::SeqCst) == runs_before {
            resumed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    println!("CALLS={}", subject.calls.get());
    println!("WRONG={}", subject.wrong.get());
    println!("FAULT_ERRORS={fault_errors}");
    println!("RESUMED={resumed}");
}

/// The child entry point: runs the scenario its parent named.
#[test]
fn fault_child() {
    if !is_child() {
        return;
    }
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let (fault, front) = scenario.split_once(':').unwrap();
    run_scenario(Fault::parse(fault), Front::parse(front));
}

/// Whether this process may mount a `tmpfs` in a private mount namespace.
fn can_mount() -> bool {
    let probe = tempfile::tempdir().unwrap();
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "mount", "-t", "tmpfs"])
        .args(["-o", "size=64k", "tmpfs"])
        .arg(probe.path())
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Parent side: runs `fault` under every cache, each in its own child, and checks the
/// figures each child reports.
fn check_fault(fault: Fault) {
    if is_child() {
        return;
    }
    if fault.needs_mount() && !can_mount() {
        let required = std::env::var(REQUIRE_ENV).is_ok_and(|value| value == "1");
        assert!(
            !required,
            "{REQUIRE_ENV}=1 but this process cannot mount a tmpfs in a private mount namespace \
             (run as root, with `unshare` installed)"
        );
        println!(
            "skipped: the {} fault needs root and mount namespaces (`unshare -m`); \
             set {REQUIRE_ENV}=1 to make this an error",
            fault.name()
        );
        return;
    }
    let (mut calls, mut errors) = (0, 0);
    for front in Front::ALL {
        let root = tempfile::tempdir().unwrap();
        let wrapper: &[&str] = if fault.needs_mount() {
            &["unshare", "-m", "--propagation", "private"]
        } else {
            &[]
        };
        let output = common::child_command("fault_child", root.path(), wrapper)
            .env(SCENARIO_ENV, format!("{}:{}", fault.name(), front.name()))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let what = format!("{} under {}", fault.name(), front.name());
        assert!(
            output.status.success(),
            "{what}: the child failed (a panic, or a wrong answer):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let figure = |name: &str| reported(&stdout, name).trim().to_owned();
        assert_eq!(figure("WRONG"), "0", "{what}: wrong answers");
        let fault_errors: u64 = figure("FAULT_ERRORS").parse().unwrap();
        if fault == Fault::DiskFull {
            assert!(fault_errors > 0, "{what}: failed writes were not counted");
        }
        assert_eq!(figure("RESUMED"), "true", "{what}: caching did not resume");
        calls += figure("CALLS").parse::<u64>().unwrap();
        errors += fault_errors;
    }
    println!(
        "fault {}: 4 caches, {calls} calls checked, {errors} errors counted, 0 wrong answers",
        fault.name()
    );
}

#[test]
fn a_full_disk_never_changes_an_answer_and_caching_resumes() {
    check_fault(Fault::DiskFull);
}

#[test]
fn a_root_turned_read_only_never_changes_an_answer() {
    check_fault(Fault::ReadOnly);
}

#[test]
fn a_folder_deleted_under_a_running_cache_never_changes_an_answer() {
    check_fault(Fault::FolderDeleted);
}

#[test]
fn a_folder_replaced_by_a_file_never_changes_an_answer() {
    check_fault(Fault::FolderReplaced);
}
