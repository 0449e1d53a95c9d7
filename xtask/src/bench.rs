//! `cargo xtask bench [--quick] [--report-only] [ENGINE…]`: runs the criterion benches of
//! `twat-cache-benches` and writes `target/bench-report.md` (a table per criterion group:
//! median time per operation and the ratio of ours to each baseline; then, when the
//! `hitratio` bench ran, its hit-ratio table) and `target/bench-report.svg` (a bar chart of
//! the time ratios).
//!
//! * `ENGINE` is a `[[bench]]` target of `benches/Cargo.toml` (`core`, `memory`, `disk`,
//!   `file`, `async`, …); none means all of them, in the manifest's order.
//! * `--quick` passes [`QUICK_ARGS`] to criterion (short warm-up and measurement, 10
//!   samples): all engines take about 2 minutes of benchmark time on 2 cores, plus the
//!   release build. Criterion 0.8 also has its own `--quick`, but it keeps only two
//!   samples per benchmark, too few for a median.
//! * `--report-only` runs nothing and reports every result criterion has under
//!   `target/criterion`; otherwise the report holds only the results this run wrote.
//!
//! The target directory is `$CARGO_TARGET_DIR` or `target/`, as for cargo and criterion.
//! The report reads criterion's `<group>/<id>/new/estimates.json` (median point estimate)
//! and `benchmark.json` (ids, `Throughput::Elements`), see [`criterion`].
//!
//! # Naming benchmarks: ours and baselines
//!
//! The report tells twat-cache's benchmarks from the baselines by their ids
//! ([`report::NAMING_CONVENTION`], implemented by [`report::kind_of`]). Bench authors: start the id
//! of a twat-cache benchmark with `ours` or `twat-cache`, and the id of a baseline with
//! the name of what it measures (`HashMap`, `#[cached`, `mini-moka`, `moka`,
//! `quick_cache`, `fjall`, `std_fs`, `cacache`, `tokio`, `raw`) or `baseline`; a floor
//! that is not a library says `floor` or `alone` (`tokio_semaphore_floor`,
//! `keybuf_encode_alone`: the cost of one part on its own). Ratios are only computed
//! within a criterion group, so put what should be compared in one group.

mod chart;
mod criterion;
mod report;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use xshell::cmd;

use crate::{root_shell, run_step, target_dir, workspace_root};

/// The package holding the benches, and its folder.
const BENCH_PACKAGE: &str = "twat-cache-benches";
const BENCH_FOLDER: &str = "benches";

/// Criterion flags for `--quick`: 0.5 s warm-up, 1 s measurement, 10 samples (groups that
/// set their own sample size keep it), fewer bootstrap resamples.
const QUICK_ARGS: &[&str] = &[
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1",
    "--sample-size",
    "10",
    "--nresamples",
    "10000",
];

/// The bench that counts hits instead of timing (`benches/benches/hitratio.rs`): it
/// writes its own table to `target/hitratio.md`, which the report appends.
const HIT_RATIO_BENCH: &str = "hitratio";

/// The hit-ratio table of the last `hitratio` run, as a section of the report (its
/// heading one level down), or a line saying it is missing.
fn hit_ratio_section(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(table) => {
            let table = table
                .strip_prefix("# ")
                .map_or_else(|| table.clone(), |rest| format!("## {rest}"));
            format!("\n{}\n", table.trim_end())
        }
        Err(_) => format!(
            "\n## Hit ratio\n\nNo hit-ratio results at `{}`: run `cargo xtask bench {HIT_RATIO_BENCH}`.\n",
            path.display()
        ),
    }
}

/// The column of the hit-ratio table that the chart draws.
const HIT_RATIO_COLUMN: &str = "tinylfu ÷ best peer";

/// `(workload, ours ÷ best peer)` for each row of the hit-ratio table (rows whose value
/// does not parse are left out).
fn hit_ratios_of(table: &str) -> Vec<(String, f64)> {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect()
    };
    let mut lines = table
        .lines()
        .filter(|line| line.trim_start().starts_with('|'));
    let Some(column) = lines.next().and_then(|header| {
        cells(header)
            .iter()
            .position(|cell| cell == HIT_RATIO_COLUMN)
    }) else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let row = cells(line);
            let ratio = row.get(column)?.parse::<f64>().ok()?;
            Some((row.first()?.clone(), ratio))
        })
        .collect()
}

/// The `bench` command.
#[derive(Debug)]
pub(crate) struct Bench {
    quick: bool,
    report_only: bool,
    engines: Vec<String>,
    /// Every bench target, in `benches/Cargo.toml` order (the report's group order).
    available: Vec<String>,
}

impl Bench {
    /// Parses `[--quick] [--report-only] [ENGINE…]`, ENGINE being a `[[bench]]` target of
    /// `benches/Cargo.toml`.
    pub(crate) fn from_args(args: &[String]) -> Result<Self, String> {
        let path = workspace_root().join(BENCH_FOLDER).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::parse(args, bench_targets(&manifest))
    }

    fn parse(args: &[String], available: Vec<String>) -> Result<Self, String> {
        let mut bench = Self {
            quick: false,
            report_only: false,
            engines: Vec::new(),
            available,
        };
        for arg in args {
            match arg.as_str() {
                "--quick" => bench.quick = true,
                "--report-only" => bench.report_only = true,
                engine if bench.available.iter().any(|a| a == engine) => {
                    if !bench.engines.iter().any(|e| e == engine) {
                        bench.engines.push(engine.to_owned());
                    }
                }
                other => {
                    return Err(format!(
                        "bench: unknown argument `{other}`: expected --quick, --report-only or an engine ({})",
                        bench.available.join(", ")
                    ));
                }
            }
        }
        if bench.engines.is_empty() {
            bench.engines.clone_from(&bench.available);
        }
        Ok(bench)
    }

    /// Runs the benches (unless `--report-only`) and writes the report and the chart.
    /// A bench that fails does not stop the others; the command fails at the end.
    pub(crate) fn run(&self) -> Result<(), String> {
        let root = workspace_root();
        let target = target_dir(&root);
        let sh = root_shell()?;
        // Cargo reads a relative CARGO_TARGET_DIR from the workspace root, but criterion, in
        // the bench process, from the bench package's folder (benches/): hand both the
        // same absolute path so the results land where this command reads them.
        if std::env::var_os("CARGO_TARGET_DIR").is_some() {
            sh.set_var("CARGO_TARGET_DIR", &target);
        }
        let mut failures = Vec::new();
        let since = if self.report_only {
            None
        } else {
            // Criterion writes estimates.json after each benchmark; a second of slack for
            // coarse file-system timestamps.
            let started = SystemTime::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or(UNIX_EPOCH);
            let quick: &[&str] = if self.quick { QUICK_ARGS } else { &[] };
            // Build every selected bench first, so compiling is not mixed with measuring
            // (and the time printed below is benchmark time only). If that fails, each
            // bench is still tried on its own, so one broken bench does not stop the rest.
            let targets: Vec<String> = self
                .engines
                .iter()
                .flat_map(|engine| ["--bench".to_owned(), engine.clone()])
                .collect();
            let _ = run_step(
                "cargo bench --no-run (build the selected benches)",
                &cmd!(sh, "cargo bench -p {BENCH_PACKAGE} --no-run {targets...}"),
            );
            let measuring = Instant::now();
            for engine in &self.engines {
                let label = format!("cargo bench -p {BENCH_PACKAGE} --bench {engine}");
                let command = cmd!(
                    sh,
                    "cargo bench -p {BENCH_PACKAGE} --bench {engine} -- {quick...}"
                );
                if let Err(message) = run_step(&label, &command) {
                    failures.push(message);
                }
            }
            println!(
                "xtask: benchmarks ran for {:.0} s",
                measuring.elapsed().as_secs_f64()
            );
            Some(started)
        };

        let (measurements, problems) = criterion::collect(&target.join("criterion"), since);
        for problem in &problems {
            eprintln!("xtask: skipped a criterion result: {problem}");
        }
        let hit_ratio = self.report_only || self.engines.iter().any(|e| e == HIT_RATIO_BENCH);
        if measurements.is_empty() && !hit_ratio {
            failures.push(format!(
                "no criterion results found under {}",
                target.join("criterion").display()
            ));
            return Err(failures.join("\n"));
        }
        let groups = report::group(&measurements, &self.available);
        let info = report::RunInfo {
            command: self.command_line(),
            date: utc_now(),
            machine: machine(&sh),
            mode: if self.report_only {
                "existing results under target/criterion (--report-only)".to_owned()
            } else if self.quick {
                format!("quick run (`-- {}`)", QUICK_ARGS.join(" "))
            } else {
                "full run (each bench's own criterion settings)".to_owned()
            },
        };
        let markdown_path = target.join("bench-report.md");
        let svg_path = target.join("bench-report.svg");
        let mut markdown = report::markdown(&info, &groups);
        if hit_ratio {
            markdown.push_str(&hit_ratio_section(&target.join("hitratio.md")));
        }
        write(&markdown_path, &markdown)?;
        let title = format!("twat-cache benchmarks — {} — {}", info.machine, info.date);
        let hit_ratios = if hit_ratio {
            std::fs::read_to_string(target.join("hitratio.md"))
                .map(|table| hit_ratios_of(&table))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        write(&svg_path, &chart::svg(&title, &groups, &hit_ratios))?;
        println!(
            "xtask: {} benchmarks in {} groups\nxtask: report: {}\nxtask: chart:  {}",
            measurements.len(),
            groups.len(),
            markdown_path.display(),
            svg_path.display()
        );
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the report covers the benches that ran; these failed:\n  {}",
                failures.join("\n  ")
            ))
        }
    }

    /// The command line as the report header shows it.
    fn command_line(&self) -> String {
        let mut line = String::from("cargo xtask bench");
        if self.quick {
            line.push_str(" --quick");
        }
        if self.report_only {
            line.push_str(" --report-only");
        }
        if self.engines.len() < self.available.len() {
            line.push(' ');
            line.push_str(&self.engines.join(" "));
        }
        line
    }
}

/// The `name`s of the `[[bench]]` tables of a manifest, in order.
fn bench_targets(manifest: &str) -> Vec<String> {
    let mut in_bench = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_bench = trimmed == "[[bench]]";
        } else if in_bench
            && let Some((key, value)) = trimmed.split_once('=')
            && key.trim() == "name"
        {
            names.push(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

/// `AMD EPYC, 2 CPUs (nproc), linux x86_64, rustc 1.95.0`: the CPU model from
/// /proc/cpuinfo when there is one.
fn machine(sh: &xshell::Shell) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpu_model(&text))
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = cmd!(sh, "rustc --version")
        .read()
        .ok()
        .and_then(|version| version.split_whitespace().nth(1).map(str::to_owned))
        .map_or_else(String::new, |version| format!(", rustc {version}"));
    format!(
        "{cpu}, {cpus} CPUs (nproc), {} {}{rustc}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The CPU model line of /proc/cpuinfo (`model name` on x86, `Model`/`Hardware` or
/// `cpu model` elsewhere).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware", "cpu model"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.trim() == *key && !value.trim().is_empty()).then(|| value.trim().to_owned())
            })
        })
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    utc_date(seconds)
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's days-to-civil algorithm).
fn utc_date(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let minutes_of_day = (unix_seconds % 86_400) / 60;
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes_of_day / 60,
        minutes_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn available() -> Vec<String> {
        args(&["core", "memory", "disk", "file", "async"])
    }

    #[test]
    fn no_engine_means_all_and_unknown_arguments_fail() {
        let bench = Bench::parse(&[], available()).unwrap();
        assert_eq!(bench.engines, available());
        assert!(!bench.quick && !bench.report_only);
        assert_eq!(bench.command_line(), "cargo xtask bench");
        let bench =
            Bench::parse(&args(&["memory", "--quick", "core", "memory"]), available()).unwrap();
        assert_eq!(bench.engines, ["memory", "core"]);
        assert_eq!(
            bench.command_line(),
            "cargo xtask bench --quick memory core"
        );
        let err = Bench::parse(&args(&["mongo"]), available()).unwrap_err();
        assert!(err.contains("unknown argument `mongo`"), "{err}");
    }

    #[test]
    fn bench_targets_come_from_the_manifest() {
        let manifest = "[package]\nname = \"b\"\n\n[[bench]]\nname = \"core\"\nharness = false\n\n\
            [[bench]]\nharness = false\nname = \"memory\"\n\n[lints]\nworkspace = true\n";
        assert_eq!(bench_targets(manifest), ["core", "memory"]);
        let real = Bench::from_args(&[]).unwrap();
        for engine in ["core", "memory", "disk", "file", "async"] {
            assert!(real.available.iter().any(|a| a == engine), "{engine}");
        }
    }

    #[test]
    fn the_hit_ratio_table_becomes_a_section_of_the_report() {
        let dir = std::env::temp_dir().join(format!("xtask-hitratio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hitratio.md");
        std::fs::write(
            &path,
            "# Hit ratio (%)\n\n| workload | ours |\n|---|---:|\n| zipf | 45.1 |\n",
        )
        .unwrap();
        let section = hit_ratio_section(&path);
        assert!(section.starts_with("\n## Hit ratio (%)\n"), "{section}");
        assert!(section.contains("| zipf | 45.1 |"), "{section}");
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = hit_ratio_section(&dir.join("hitratio.md"));
        assert!(missing.contains("cargo xtask bench hitratio"), "{missing}");
    }

    #[test]
    fn the_chart_reads_the_hit_ratio_column() {
        let table = "# Hit ratio\n\n| workload | ours lru | tinylfu ÷ best peer | Bélády − tinylfu |\n|---|---:|---:|---:|\n| zipf 0.9 | 34.2 | 0.990 | 8.2 pts |\n| loop | 0.0 | 1.253 | 1.1 pts |\n| broken | 1.0 | — | 0 |\n";
        assert_eq!(
            hit_ratios_of(table),
            [("zipf 0.9".to_owned(), 0.990), ("loop".to_owned(), 1.253)]
        );
        assert!(hit_ratios_of("| a | b |\n|---|---|\n| x | 1 |\n").is_empty());
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_795_629_000), "2026-11-25 17:50 UTC");
        assert_eq!(utc_date(4_107_542_399), "2100-02-28 23:59 UTC");
    }

    #[test]
    fn the_cpu_model_comes_from_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        let arm = "processor\t: 0\nBogoMIPS\t: 108.00\n\nModel\t\t: Raspberry Pi 4 Model B\n";
        assert_eq!(cpu_model(arm).as_deref(), Some("Raspberry Pi 4 Model B"));
        assert_eq!(cpu_model("processor : 0\n"), None);
    }
}
