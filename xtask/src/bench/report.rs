//! The Markdown report: one table per criterion group, ours against each baseline.

use std::fmt::Write as _;

use super::criterion::Measurement;

/// How benchmark ids are classified, as the report header states it.
pub(crate) const NAMING_CONVENTION: &str = "A row is **ours** if its id starts with `ours`, \
    `twat-cache`/`twat_cache`, a twat-cache type (`MemoryCache`, `DiskCache`, `FileCache`, \
    `AsyncCache`) or attribute (`mcache`, `#[mcache` …); it is a **baseline** if its id starts \
    with `baseline`, `raw`, `std`, `HashMap`, `#[cached`/`cached`, `mini-moka`, `moka`, \
    `quick_cache`, `fjall`, `cacache`, `tokio` or `the computation`, or contains `floor` or \
    `alone` (a floor: `tokio_semaphore_floor`, `keybuf_encode_alone`); any \
    other id is one of our operations (`get_raw`, `first_hit`) and counts as ours.";

/// Whose implementation a benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// twat-cache.
    Ours,
    /// Something to compare against: another library, the raw backend, a floor.
    Baseline,
}

/// Id prefixes (case-insensitive) that mark ours; checked first.
const OURS_PREFIXES: &[&str] = &[
    "ours",
    "twat-cache",
    "twat_cache",
    "memorycache",
    "diskcache",
    "filecache",
    "asynccache",
    "mcache",
    "bcache",
    "fcache",
    "acache",
    "ucache",
    "#[mcache",
    "#[bcache",
    "#[fcache",
    "#[acache",
    "#[ucache",
];

/// Id prefixes (case-insensitive) that mark a baseline.
const BASELINE_PREFIXES: &[&str] = &[
    "baseline",
    "raw",
    "std",
    "hashmap",
    "#[cached",
    "cached",
    "mini-moka",
    "mini_moka",
    "moka",
    "quick_cache",
    "quick-cache",
    "fjall",
    "cacache",
    "tokio",
    "the computation",
];

/// Words anywhere in an id that mark a floor (a baseline): the cost of a part alone.
const FLOOR_MARKERS: &[&str] = &["floor", "alone"];

/// Classifies a benchmark id by [`NAMING_CONVENTION`].
pub(crate) fn kind_of(id: &str) -> Kind {
    let id = id.to_ascii_lowercase();
    if OURS_PREFIXES.iter().any(|prefix| id.starts_with(prefix)) {
        Kind::Ours
    } else if BASELINE_PREFIXES
        .iter()
        .any(|prefix| id.starts_with(prefix))
        || FLOOR_MARKERS.iter().any(|marker| id.contains(marker))
    {
        Kind::Baseline
    } else {
        Kind::Ours
    }
}

/// One benchmark of a group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The benchmark id.
    pub(crate) id: String,
    /// Median time per operation, ns.
    pub(crate) per_op_ns: f64,
    /// Ours or a baseline.
    pub(crate) kind: Kind,
}

/// One criterion group: ours first, then the baselines, each fastest first.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group {
    /// The group name.
    pub(crate) name: String,
    /// Its benchmarks.
    pub(crate) rows: Vec<Row>,
}

impl Group {
    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |row| row.kind == kind)
    }

    /// Every (ours, baseline, ours ÷ baseline) of the group; empty if either side is.
    pub(crate) fn ratios(&self) -> Vec<(&Row, &Row, f64)> {
        self.of_kind(Kind::Ours)
            .flat_map(|ours| {
                self.of_kind(Kind::Baseline)
                    .map(move |baseline| (ours, baseline, ours.per_op_ns / baseline.per_op_ns))
            })
            .collect()
    }
}

/// Groups the measurements: groups in the order of the bench targets `engines` (by the
/// group name's first word), then by name.
pub(crate) fn group(measurements: &[Measurement], engines: &[String]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for measurement in measurements {
        let row = Row {
            id: measurement.id.clone(),
            per_op_ns: measurement.per_op_ns(),
            kind: kind_of(&measurement.id),
        };
        match groups.iter_mut().find(|g| g.name == measurement.group) {
            Some(existing) => existing.rows.push(row),
            None => groups.push(Group {
                name: measurement.group.clone(),
                rows: vec![row],
            }),
        }
    }
    let engine_rank = |name: &str| {
        let first = name.split(['/', '_', '-', ' ']).next().unwrap_or(name);
        engines
            .iter()
            .position(|engine| engine == first)
            .unwrap_or(engines.len())
    };
    groups.sort_by(|a, b| {
        engine_rank(&a.name)
            .cmp(&engine_rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    for group in &mut groups {
        group.rows.sort_by(|a, b| {
            (a.kind == Kind::Baseline)
                .cmp(&(b.kind == Kind::Baseline))
                .then_with(|| a.per_op_ns.total_cmp(&b.per_op_ns))
        });
    }
    groups
}

/// What the report header says about the run.
#[derive(Clone, Debug)]
pub(crate) struct RunInfo {
    /// The command that produced it.
    pub(crate) command: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub(crate) date: String,
    /// CPU model, CPU count, OS, rustc.
    pub(crate) machine: String,
    /// How criterion was configured.
    pub(crate) mode: String,
}

/// The whole Markdown report.
pub(crate) fn markdown(info: &RunInfo, groups: &[Group]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# twat-cache benchmark report\n");
    let _ = writeln!(out, "- Command: `{}`", info.command);
    let _ = writeln!(out, "- Date: {}", info.date);
    let _ = writeln!(out, "- Machine: {}", info.machine);
    let _ = writeln!(out, "- Criterion: {}\n", info.mode);
    let _ = writeln!(
        out,
        "Times are criterion's median per operation (per iteration, divided by the bench's \
         `Throughput::Elements`). A ratio is ours ÷ baseline: below 1.00× ours is faster. \
         {NAMING_CONVENTION} A group without both kinds lists medians only. \
         Absolute times depend on the machine; compare within a table.\n"
    );
    for group in groups {
        out.push_str(&table(group));
        out.push('\n');
    }
    out
}

/// One group's table.
pub(crate) fn table(group: &Group) -> String {
    let baselines: Vec<&Row> = group.of_kind(Kind::Baseline).collect();
    let has_ours = group.of_kind(Kind::Ours).next().is_some();
    let compare = has_ours && !baselines.is_empty();
    let mut out = format!("## {}\n\n| benchmark | kind | median per op |", group.name);
    let mut rule = String::from("|---|---|---:|");
    if compare {
        for baseline in &baselines {
            let _ = write!(out, " ÷ {} |", code(&baseline.id));
            rule.push_str("---:|");
        }
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for row in &group.rows {
        let kind = match row.kind {
            Kind::Ours => "ours",
            Kind::Baseline => "baseline",
        };
        let _ = write!(
            out,
            "| {} | {kind} | {} |",
            code(&row.id),
            format_time(row.per_op_ns)
        );
        if compare {
            for baseline in &baselines {
                if row.kind == Kind::Ours {
                    let _ = write!(
                        out,
                        " {} |",
                        format_ratio(row.per_op_ns / baseline.per_op_ns)
                    );
                } else {
                    out.push_str(" |");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// An id as inline code, safe inside a table cell.
fn code(id: &str) -> String {
    format!("`{}`", id.replace('`', "'").replace('|', "\\|"))
}

/// `12.3 ns`, `4.56 µs`, `7.89 ms`, `1.23 s`.
pub(crate) fn format_time(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// `0.45×`, `0.0063×`, `12.3×`, `150×`: at least two significant digits.
pub(crate) fn format_ratio(ratio: f64) -> String {
    if ratio > 0.0 && ratio < 0.1 {
        // Whole numbers of decimals: 0.0xx → 3, 0.00xx → 4 …
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a small positive count of decimals, capped"
        )]
        let decimals = (1.0 - ratio.log10().floor()).min(12.0) as usize;
        format!("{ratio:.decimals$}×")
    } else if ratio < 10.0 {
        format!("{ratio:.2}×")
    } else if ratio < 100.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.0}×")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn measurement(group: &str, id: &str, median_ns: f64, elements: u64) -> Measurement {
        Measurement {
            group: group.to_owned(),
            id: id.to_owned(),
            median_ns,
            elements: Some(elements),
        }
    }

    /// The bench targets, in manifest order.
    pub(crate) fn engines() -> Vec<String> {
        ["core", "memory", "disk", "file", "async"]
            .map(str::to_owned)
            .to_vec()
    }

    /// Fixture numbers shaped like the real benches.
    pub(crate) fn fixture() -> Vec<Measurement> {
        vec![
            measurement("async_hit", "moka_future_get", 232.8, 1),
            measurement("async_hit", "ours_u64_get", 74.8, 1),
            measurement("memory/hit", "HashMap get + clone", 30.0, 1),
            measurement("memory/hit", "twat-cache-memory (KeyBuf)", 45.0, 1),
            measurement("memory/hit", "#[cached(max_size = 10_000)]", 90.0, 1),
            measurement("memory/hit-2-threads", "quick_cache get", 40.0, 2),
            measurement("memory/hit-2-threads", "twat-cache-memory", 60.0, 2),
            measurement("core", "seal 100-byte String", 55.5, 1),
            measurement("core", "namespaced key (u64, &str)", 31.25, 1),
            measurement("file/hit/1KiB", "get_raw", 5_000.0, 1),
            measurement("file/hit/1KiB", "std_fs_read", 4_000.0, 1),
            measurement("file/hit/1KiB", "cacache_read_sync_sha256", 20_000.0, 1),
        ]
    }

    #[test]
    fn ids_classify_by_the_naming_convention() {
        for ours in [
            "ours",
            "ours_hot",
            "twat-cache-memory (KeyBuf encode + get_or_insert_with)",
            "MemoryCache get",
            "get_raw",
            "first_hit",
            "hit_after_1000_rewrites",
            "namespaced key (u64, &str)",
        ] {
            assert_eq!(kind_of(ours), Kind::Ours, "{ours}");
        }
        for baseline in [
            "HashMap get + clone",
            "#[cached(max_size = 10_000)]",
            "mini-moka get",
            "moka::future get (polled once)",
            "moka_future_get_with",
            "quick_cache get",
            "fjall_memtable",
            "fjall_insert",
            "std_fs_read",
            "cacache_read_sync_sha256",
            "cacache_after_1000_rewrites",
            "tokio_semaphore_floor",
            "the computation alone",
            "keybuf_encode_alone",
            "baseline: Vec scan",
            "raw fjall get",
        ] {
            assert_eq!(kind_of(baseline), Kind::Baseline, "{baseline}");
        }
    }

    #[test]
    fn groups_follow_engine_order_with_ours_first() {
        let groups = group(&fixture(), &engines());
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "core",
                "memory/hit",
                "memory/hit-2-threads",
                "file/hit/1KiB",
                "async_hit"
            ]
        );
        let file: Vec<&str> = groups[3].rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(file, ["get_raw", "std_fs_read", "cacache_read_sync_sha256"]);
        // Two operations per iteration: per-op time is half the iteration's.
        assert_eq!(groups[2].rows[0].per_op_ns, 30.0);
    }

    #[test]
    fn a_table_has_a_ratio_column_per_baseline() {
        let groups = group(&fixture(), &engines());
        let memory = table(&groups[1]);
        let expected = "## memory/hit\n\n\
            | benchmark | kind | median per op | ÷ `HashMap get + clone` | ÷ `#[cached(max_size = 10_000)]` |\n\
            |---|---|---:|---:|---:|\n\
            | `twat-cache-memory (KeyBuf)` | ours | 45.0 ns | 1.50× | 0.50× |\n\
            | `HashMap get + clone` | baseline | 30.0 ns | | |\n\
            | `#[cached(max_size = 10_000)]` | baseline | 90.0 ns | | |\n";
        assert_eq!(memory, expected);
    }

    #[test]
    fn a_group_without_baselines_lists_medians_only() {
        let groups = group(&fixture(), &engines());
        let core = table(&groups[0]);
        let expected = "## core\n\n\
            | benchmark | kind | median per op |\n\
            |---|---|---:|\n\
            | `namespaced key (u64, &str)` | ours | 31.2 ns |\n\
            | `seal 100-byte String` | ours | 55.5 ns |\n";
        assert_eq!(core, expected);
        assert!(groups[0].ratios().is_empty());
    }

    #[test]
    fn the_report_names_the_machine_and_the_convention() {
        let info = RunInfo {
            command: "cargo xtask bench --quick".to_owned(),
            date: "2026-11-25 18:00 UTC".to_owned(),
            machine: "AMD EPYC, 2 CPUs".to_owned(),
            mode: "quick".to_owned(),
        };
        let report = markdown(&info, &group(&fixture(), &engines()));
        assert!(report.starts_with("# twat-cache benchmark report\n"));
        assert!(report.contains("- Machine: AMD EPYC, 2 CPUs\n"));
        assert!(report.contains("- Date: 2026-11-25 18:00 UTC\n"));
        assert!(report.contains(NAMING_CONVENTION));
        assert_eq!(report.matches("\n## ").count(), 5);
    }

    #[test]
    fn times_and_ratios_format_with_three_significant_digits() {
        assert_eq!(format_time(12.345), "12.3 ns");
        assert_eq!(format_time(4_560.0), "4.56 µs");
        assert_eq!(format_time(789_000_000.0), "789 ms");
        assert_eq!(format_time(1.5e9), "1.50 s");
        assert_eq!(format_ratio(0.4449), "0.44×");
        assert_eq!(format_ratio(0.0432), "0.043×");
        assert_eq!(format_ratio(0.006_33), "0.0063×");
        assert_eq!(format_ratio(12.34), "12.3×");
        assert_eq!(format_ratio(150.0), "150×");
        assert_eq!(code("a|b`c"), "`a\\|b'c`");
    }
}
