//! Reading criterion's results: for every benchmark, `<target>/criterion/<group>/<id>/new/`
//! holds `benchmark.json` (group, function and value ids, throughput) and `estimates.json`
//! (the statistics, in nanoseconds per iteration).
//!
//! Both are read with `serde_json` into the few fields needed here; other fields are
//! ignored, so a newer criterion that adds fields still reads.

use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;

/// One benchmark's result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Measurement {
    /// The criterion group (`memory/hit`).
    pub(crate) group: String,
    /// The benchmark id within the group: the function id, then `/value` if there is one.
    pub(crate) id: String,
    /// Criterion's median estimate of the time per iteration, in nanoseconds.
    pub(crate) median_ns: f64,
    /// `Throughput::Elements(n)` of the benchmark: the operations per iteration.
    pub(crate) elements: Option<u64>,
}

impl Measurement {
    /// The median time per operation: per iteration, divided by the elements per
    /// iteration when the benchmark declares `Throughput::Elements`.
    pub(crate) fn per_op_ns(&self) -> f64 {
        match self.elements {
            // Precision loss above 2^53 elements is irrelevant here.
            #[allow(clippy::cast_precision_loss, reason = "element counts are small")]
            Some(elements) if elements > 1 => self.median_ns / elements as f64,
            _ => self.median_ns,
        }
    }
}

/// Every result under `criterion_dir` whose `estimates.json` was written at or after
/// `since` (all of them when `since` is `None`). Unreadable or unexpected files are listed
/// in the second vector, not fatal.
pub(crate) fn collect(
    criterion_dir: &Path,
    since: Option<SystemTime>,
) -> (Vec<Measurement>, Vec<String>) {
    let mut measurements = Vec::new();
    let mut problems = Vec::new();
    let mut pending = vec![criterion_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if entry.file_name() != "new" {
                pending.push(path);
                continue;
            }
            let estimates_path = path.join("estimates.json");
            let fresh = since.is_none_or(|since| {
                std::fs::metadata(&estimates_path)
                    .and_then(|meta| meta.modified())
                    .is_ok_and(|modified| modified >= since)
            });
            if !fresh {
                continue;
            }
            match read_measurement(&path) {
                Ok(measurement) => measurements.push(measurement),
                Err(problem) => problems.push(problem),
            }
        }
    }
    (measurements, problems)
}

/// The fields of `benchmark.json` this report needs.
#[derive(Debug, Deserialize)]
struct BenchmarkFile {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    /// `{"Elements": n}`, `{"Bytes": n}` or `null`.
    throughput: Option<Throughput>,
}

/// Criterion's `Throughput`, serialized externally tagged: only `Elements` counts
/// operations (`Bytes` and the others leave it `None`).
#[derive(Debug, Deserialize)]
struct Throughput {
    #[serde(rename = "Elements")]
    elements: Option<u64>,
}

/// The fields of `estimates.json` this report needs.
#[derive(Debug, Deserialize)]
struct EstimatesFile {
    median: Estimate,
}

/// One statistic of `estimates.json`.
#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// One `new/` folder's benchmark.json + estimates.json.
fn read_measurement(new_dir: &Path) -> Result<Measurement, String> {
    fn read<T: serde::de::DeserializeOwned>(new_dir: &Path, name: &str) -> Result<T, String> {
        let path = new_dir.join(name);
        let text =
            std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))
    }
    let benchmark: BenchmarkFile = read(new_dir, "benchmark.json")?;
    let estimates: EstimatesFile = read(new_dir, "estimates.json")?;
    Ok(measurement(benchmark, &estimates))
}

/// The measurement the two files describe.
fn measurement(benchmark: BenchmarkFile, estimates: &EstimatesFile) -> Measurement {
    let id = match (benchmark.function_id, benchmark.value_str) {
        (Some(function), Some(value)) => format!("{function}/{value}"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => benchmark.group_id.clone(),
    };
    let elements = benchmark
        .throughput
        .and_then(|throughput| throughput.elements);
    Measurement {
        group: benchmark.group_id,
        id,
        median_ns: estimates.median.point_estimate,
        elements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":70.7,"upper_bound":82.6},"point_estimate":75.87102184498347,"standard_error":3.08},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":72.09,"upper_bound":77.37},"point_estimate":74.83564392953224,"standard_error":1.34},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":10.1,"upper_bound":20.9},"point_estimate":14.03,"standard_error":2.61},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":14.6,"upper_bound":47.9},"point_estimate":31.1,"standard_error":10.0}}"#;

    const BENCHMARK: &str = r#"{"group_id":"memory/hit","function_id":"moka::future get (polled \"once\")","value_str":null,"throughput":{"Elements":2},"full_id":"memory/hit/x","directory_name":"memory_hit/x","title":"memory/hit/x"}"#;

    fn parse(benchmark: &str, estimates: &str) -> Measurement {
        let benchmark = serde_json::from_str(benchmark).unwrap();
        let estimates: EstimatesFile = serde_json::from_str(estimates).unwrap();
        measurement(benchmark, &estimates)
    }

    #[test]
    fn criterion_files_are_read() {
        let read = parse(BENCHMARK, ESTIMATES);
        assert_eq!(read.group, "memory/hit");
        assert_eq!(read.id, "moka::future get (polled \"once\")");
        assert_eq!(read.median_ns, 74.835_643_929_532_24);
        assert_eq!(read.elements, Some(2));
        let other = parse(
            r#"{"group_id":"g","function_id":null,"value_str":"\u00e9","throughput":{"Bytes":1024}}"#,
            r#"{"median":{"point_estimate":1.5e3}}"#,
        );
        assert_eq!((other.id.as_str(), other.median_ns), ("é", 1500.0));
        assert_eq!(other.elements, None);
        let none = parse(
            r#"{"group_id":"g","function_id":null,"value_str":null,"throughput":null}"#,
            r#"{"median":{"point_estimate":1}}"#,
        );
        assert_eq!((none.id.as_str(), none.elements), ("g", None));
        assert!(serde_json::from_str::<EstimatesFile>(r#"{"mean":{"point_estimate":1}}"#).is_err());
    }

    #[test]
    fn per_op_time_divides_by_elements() {
        let measurement = Measurement {
            group: "g".to_owned(),
            id: "i".to_owned(),
            median_ns: 1000.0,
            elements: Some(1000),
        };
        assert_eq!(measurement.per_op_ns(), 1.0);
        let per_iteration = Measurement {
            elements: None,
            ..measurement
        };
        assert_eq!(per_iteration.per_op_ns(), 1000.0);
    }

    #[test]
    fn results_are_collected_from_new_folders_only() {
        let root = TempDir::new("criterion");
        let root = &root.0;
        let write = |dir: &str, group: &str, function: &str, median: f64| {
            let dir = root.join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            let benchmark = format!(
                r#"{{"group_id":"{group}","function_id":"{function}","value_str":"v","throughput":null}}"#
            );
            std::fs::write(dir.join("benchmark.json"), benchmark).unwrap();
            let estimates = format!(r#"{{"median":{{"point_estimate":{median}}}}}"#);
            std::fs::write(dir.join("estimates.json"), estimates).unwrap();
        };
        write("g/a/new", "g", "a", 10.0);
        write("g/a/base", "g", "a", 99.0);
        write("g/b/new", "g", "b", 20.0);
        std::fs::create_dir_all(root.join("g/c/new")).unwrap();
        let (mut found, problems) = collect(root, None);
        found.sort_by(|x, y| x.id.cmp(&y.id));
        let summary: Vec<(&str, f64)> =
            found.iter().map(|m| (m.id.as_str(), m.median_ns)).collect();
        assert_eq!(summary, [("a/v", 10.0), ("b/v", 20.0)]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let future = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert!(collect(root, Some(future)).0.is_empty());
    }

    /// A folder removed on drop, even when the test fails.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            let path = std::env::temp_dir().join(format!("xtask-{label}-{}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
