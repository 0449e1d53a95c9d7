//! [`Usage`]: what one cache holds in its folder, as far as this process knows.
//!
//! A sweep counts it exactly (see `sweep.rs`); between sweeps this process adds what it
//! writes and takes off what it removes. Other processes' writes show up only at the next
//! scan, which is why the bytes written since the last scan are tracked: enough of them
//! trigger one.

/// Entries and bytes of one cache in its folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    entries: u64,
    bytes: u64,
    /// Bytes this process wrote since the last scan (other processes' writes are only
    /// seen by a scan, so enough local writes trigger one).
    written_since_scan: u64,
}

impl Usage {
    /// What a scan of the folder found: `entries` entries taking `bytes` bytes.
    pub(crate) const fn scanned(entries: u64, bytes: u64) -> Self {
        Self {
            entries,
            bytes,
            written_since_scan: 0,
        }
    }

    /// The number of entries.
    pub(crate) const fn entries(&self) -> u64 {
        self.entries
    }

    /// The bytes the entries account for.
    pub(crate) const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The bytes this process wrote since the last scan.
    pub(crate) const fn written_since_scan(&self) -> u64 {
        self.written_since_scan
    }

    /// An entry of `added` bytes was written, replacing one of `replaced` bytes (`None`
    /// when the key was new).
    pub(crate) fn record_write(&mut self, added: u64, replaced: Option<u64>) {
        let removed = replaced.unwrap_or(0);
        self.bytes = self.bytes.saturating_add(added).saturating_sub(removed);
        self.entries += u64::from(replaced.is_none());
        self.written_since_scan = self.written_since_scan.saturating_add(added);
    }

    /// An entry of `footprint` bytes was removed.
    pub(crate) const fn record_removal(&mut self, footprint: u64) {
        self.bytes = self.bytes.saturating_sub(footprint);
        self.entries = self.entries.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_removals_keep_the_totals() {
        let mut usage = Usage::scanned(1, 100);
        usage.record_write(50, None);
        assert_eq!((usage.entries(), usage.bytes()), (2, 150));
        usage.record_write(70, Some(50));
        assert_eq!((usage.entries(), usage.bytes()), (2, 170));
        assert_eq!(usage.written_since_scan(), 120);
        usage.record_removal(70);
        usage.record_removal(1000);
        assert_eq!(
            usage,
            Usage {
                entries: 0,
                bytes: 0,
                written_since_scan: 120
            }
        );
    }
}
