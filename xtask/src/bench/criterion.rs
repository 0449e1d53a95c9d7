//! Reading criterion's results: for every benchmark, `<target>/criterion/<group>/<id>/new/`
//! holds `benchmark.json` (group, function and value ids, throughput) and `estimates.json`
//! (the statistics, in nanoseconds per iteration).
//!
//! Both files have a fixed shape written by criterion 0.8, so a few purpose-built
//! extractors read the fields needed here instead of a JSON dependency.

use std::path::Path;
use std::time::SystemTime;

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

/// One `new/` folder's benchmark.json + estimates.json.
fn read_measurement(new_dir: &Path) -> Result<Measurement, String> {
    let read = |name: &str| {
        let path = new_dir.join(name);
        std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))
    };
    let benchmark = read("benchmark.json")?;
    let estimates = read("estimates.json")?;
    let unexpected = |what: &str| format!("{}: unexpected {what}", new_dir.display());
    let group = string_field(&benchmark, "group_id")
        .flatten()
        .ok_or_else(|| unexpected("benchmark.json (no group_id)"))?;
    let function = string_field(&benchmark, "function_id").flatten();
    let value = string_field(&benchmark, "value_str").flatten();
    let id = match (function, value) {
        (Some(function), Some(value)) => format!("{function}/{value}"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => group.clone(),
    };
    let median_ns =
        median_point_estimate(&estimates).ok_or_else(|| unexpected("estimates.json"))?;
    Ok(Measurement {
        group,
        id,
        median_ns,
        elements: throughput_elements(&benchmark),
    })
}

/// `estimates.json` → `median.point_estimate` (ns per iteration).
pub(crate) fn median_point_estimate(estimates: &str) -> Option<f64> {
    let median = estimates.find("\"median\":")?;
    let rest = &estimates[median..];
    let point = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    number_at(&rest[point..])
}

/// `benchmark.json` → `throughput.Elements` (`None` for no throughput or bytes).
pub(crate) fn throughput_elements(benchmark: &str) -> Option<u64> {
    let throughput = benchmark.find("\"throughput\":")? + "\"throughput\":".len();
    let rest = benchmark[throughput..].trim_start().strip_prefix('{')?;
    let object_end = rest.find('}').unwrap_or(rest.len());
    let elements = rest[..object_end].find("\"Elements\":")? + "\"Elements\":".len();
    let value = number_at(&rest[elements..])?;
    // Whole numbers only: criterion writes a u64.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be a whole, non-negative number first"
    )]
    (value >= 0.0 && value.fract() == 0.0).then_some(value as u64)
}

/// The JSON number at the start of `text` (after whitespace).
fn number_at(text: &str) -> Option<f64> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// The string field `key` of a flat JSON object: `Some(None)` for `null`, `None` if the key
/// is absent or not a string.
pub(crate) fn string_field(json: &str, key: &str) -> Option<Option<String>> {
    let pattern = format!("\"{key}\":");
    let start = json.find(&pattern)? + pattern.len();
    let rest = json[start..].trim_start();
    if rest.starts_with("null") {
        return Some(None);
    }
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(Some(value)),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    // A surrogate half (an emoji in an id) becomes U+FFFD: display only.
                    value.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":70.7,"upper_bound":82.6},"point_estimate":75.87102184498347,"standard_error":3.08},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":72.09,"upper_bound":77.37},"point_estimate":74.83564392953224,"standard_error":1.34},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":10.1,"upper_bound":20.9},"point_estimate":14.03,"standard_error":2.61},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":14.6,"upper_bound":47.9},"point_estimate":31.1,"standard_error":10.0}}"#;

    const BENCHMARK: &str = r#"{"group_id":"memory/hit","function_id":"moka::future get (polled \"once\")","value_str":null,"throughput":{"Elements":2},"full_id":"memory/hit/x","directory_name":"memory_hit/x","title":"memory/hit/x"}"#;

    #[test]
    fn the_median_point_estimate_is_read() {
        assert_eq!(
            median_point_estimate(ESTIMATES),
            Some(74.835_643_929_532_24)
        );
        assert_eq!(
            median_point_estimate("{\"median\":{\"point_estimate\":1.5e3}}"),
            Some(1500.0)
        );
        assert_eq!(
            median_point_estimate("{\"mean\":{\"point_estimate\":1}}"),
            None
        );
    }

    #[test]
    fn benchmark_ids_and_throughput_are_read() {
        assert_eq!(
            string_field(BENCHMARK, "group_id"),
            Some(Some("memory/hit".to_owned()))
        );
        assert_eq!(
            string_field(BENCHMARK, "function_id"),
            Some(Some("moka::future get (polled \"once\")".to_owned()))
        );
        assert_eq!(string_field(BENCHMARK, "value_str"), Some(None));
        assert_eq!(string_field(BENCHMARK, "missing"), None);
        assert_eq!(
            string_field(r#"{"a":"\u00e9\\"}"#, "a"),
            Some(Some("é\\".to_owned()))
        );
        assert_eq!(throughput_elements(BENCHMARK), Some(2));
        assert_eq!(
            throughput_elements(r#"{"throughput":null,"x":{"Elements":3}}"#),
            None
        );
        assert_eq!(
            throughput_elements(r#"{"throughput":{"Bytes":1024}}"#),
            None
        );
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
