//! What the fuzz targets share: a scratch folder (in memory when `/dev/shm` exists, so
//! iterations do not wear a disk), the typed value the decoders are asked for, and the
//! framing that splits one input into several stored byte strings.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "fuzz harness"
)]

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A value with a bit of everything postcard encodes: what typed reads ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub id: u64,
    pub name: String,
    pub samples: Vec<f64>,
    pub flag: Option<bool>,
    pub signed: i32,
}

impl Probe {
    /// A sample value (for the seed corpora).
    #[must_use]
    pub fn sample(id: u64) -> Self {
        Self {
            id,
            name: format!("probe-{id}"),
            samples: vec![0.5, -1.25, f64::from(u32::try_from(id % 1000).unwrap_or(0))],
            flag: Some(id % 2 == 0),
            signed: -7,
        }
    }
}

/// A fresh scratch folder, in `/dev/shm` when it exists.
#[must_use]
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

/// Splits `input` into pieces, each prefixed by its length as one little-endian `u16`
/// (a short last piece takes what is left).
#[must_use]
pub fn pieces(mut input: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    while let Some((len, rest)) = input.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (piece, rest) = rest.split_at(len);
        found.push(piece);
        input = rest;
    }
    found
}

/// The inverse of [`pieces`].
#[must_use]
pub fn frame(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let len = u16::try_from(part.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Every file under `dir`, recursively, sorted.
#[must_use]
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}
