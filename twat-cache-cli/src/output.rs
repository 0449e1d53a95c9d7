//! The one output layer: tables for people, JSON for scripts, sizes and ages in human
//! units, and the progress spinner (drawn only on a terminal).

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Aligned tables and sentences.
    Table,
    /// One JSON document on stdout.
    Json,
}

/// A table: a header row and rows of cells, printed with aligned columns (numbers
/// right-aligned, text left-aligned).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// A table with these column headers; `right[i]` right-aligns column `i`.
    #[must_use]
    pub(crate) fn new(headers: &[(&'static str, bool)]) -> Self {
        Self {
            headers: headers.iter().map(|(header, _)| *header).collect(),
            right: headers.iter().map(|(_, right)| *right).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty, extra cells are dropped).
    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, one line per row, each ending in a newline.
    #[must_use]
    pub(crate) fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for column in 0..columns {
                let cell = row.get(column).map_or("", String::as_str);
                let width = widths.get(column).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                if column > 0 {
                    line.push_str("  ");
                }
                if self.right.get(column).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if column + 1 < columns {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Writes `value` as pretty JSON and a newline.
///
/// # Errors
///
/// Writing fails.
pub(crate) fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// A size in IEC units: `512 B`, `1.5 KiB`, `3.0 GiB`.
#[must_use]
pub(crate) fn human_size(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// How long ago `time` was, in its largest unit: `12s ago`, `5m ago`, `3h ago`,
/// `2d ago`; `-` for unknown.
#[must_use]
pub(crate) fn human_age(time: Option<SystemTime>, now: SystemTime) -> String {
    let Some(time) = time else {
        return "-".to_owned();
    };
    let age = now.duration_since(time).unwrap_or(Duration::ZERO).as_secs();
    match age {
        0..60 => format!("{age}s ago"),
        60..3_600 => format!("{}m ago", age / 60),
        3_600..86_400 => format!("{}h ago", age / 3_600),
        _ => format!("{}d ago", age / 86_400),
    }
}

/// An optional count, or `-`.
#[must_use]
pub(crate) fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// A spinner on stderr counting `what`, drawn only when stderr is a terminal (hidden
/// otherwise, so scripts and pipes see nothing of it).
#[must_use]
pub(crate) fn spinner(what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_message(what);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let mut table = Table::new(&[("NAME", false), ("ENTRIES", true)]);
        table.push(vec!["a".into(), "5".into()]);
        table.push(vec!["long-name".into(), "12345".into()]);
        assert_eq!(
            table.render(),
            "NAME       ENTRIES\na                5\nlong-name    12345\n"
        );
    }

    #[test]
    fn sizes_and_ages_read_as_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        let now = SystemTime::now();
        assert_eq!(
            human_age(Some(now - Duration::from_secs(90)), now),
            "1m ago"
        );
        assert_eq!(
            human_age(Some(now - Duration::from_secs(3 * 86_400)), now),
            "3d ago"
        );
        assert_eq!(human_age(None, now), "-");
    }
}
