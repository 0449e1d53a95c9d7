//! What the persistent engines' folder scans (`twat_cache_disk::inspect::scan_entries`,
//! `twat_cache_file::inspect::scan_entries`) share: the visitor's [`Verdict`] on each
//! entry and the [`ScanReport`] of a scan. Each engine re-exports both from its own
//! `inspect` module, so a program that cleans folders of both engines writes one visitor
//! shape.
//!
//! ```
//! use twat_cache_core::inspect::{ScanReport, Verdict};
//!
//! // A visitor's rule: remove what is older than a day.
//! let age_days = 3;
//! assert_eq!(Verdict::remove_if(age_days > 1), Verdict::Remove);
//! assert_eq!(ScanReport::default().removed, 0);
//! ```

/// What a scan's visitor wants done with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Leave it.
    Keep,
    /// Remove it: the disk engine removes every rejected entry in one batch after the
    /// scan; the file engine removes its index record and content file at once.
    Remove,
}

impl Verdict {
    /// [`Verdict::Remove`] when `remove` holds, else [`Verdict::Keep`].
    #[must_use]
    pub const fn remove_if(remove: bool) -> Self {
        if remove { Self::Remove } else { Self::Keep }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ScanReport {
    /// Entries visited.
    pub visited: u64,
    /// Entries removed.
    pub removed: u64,
    /// Bytes of the removed entries, as the engine counts them toward `maxsize`: key plus
    /// value for the disk engine, bytes on disk (index file plus content) for the file
    /// engine.
    pub removed_bytes: u64,
}
