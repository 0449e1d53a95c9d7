//! What changes the set of entries, under the cache's ledger lock (`ledger.rs`):
//! publishing a written entry, removing one, sweeping, clearing — and the statistics
//! that read the shared count.
//!
//! Publishing is the only part of a write that holds the lock: the content file and the
//! staged index record are written before it is taken, so the lock is held for a read of
//! the ledger, a read of the old record, one or two ledger writes, a rename and the
//! removal of the replaced content (plus a sweep when the write takes the cache over
//! `maxsize`). Reads never take it.

use twat_cache_core::envelope::Header;
use twat_cache_core::{Error, Stats};

use super::{Engine, corrupt};
use crate::content::Content;
use crate::layout::{EntryLocation, remove_file_if_present, sync_path};
use crate::ledger::HeldLedger;
use crate::record::{IndexRecord, StagedRecord};
use crate::sweep::{SweepReport, SweepScope};
use crate::usage::Usage;

impl Engine {
    /// Points the index of `entry` at freshly written content, accounting for it in the
    /// shared ledger; removes the content the old record named and sweeps when the cache
    /// is now over `maxsize`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the index cannot be written or the ledger cannot be locked,
    /// read or written (an entry that cannot be accounted for is not published); the new
    /// content is then removed.
    pub(crate) fn publish(&self, entry: &EntryLocation, content: Content) -> Result<(), Error> {
        let record = IndexRecord {
            header: Header::new(content.flags, self.ttl),
            stored_len: content.stored_len,
            value_len: content.value_len,
            owner: self.owner,
            checksum: content.checksum,
            integrity: content.integrity,
        };
        let content_path = self.layout.content_path(&record.integrity);
        let staged = self
            .layout
            .secure_content_dirs(&record.integrity)
            .and_then(|()| {
                if self.durable {
                    sync_path(&content_path)?;
                }
                Ok(())
            })
            .and_then(|()| record.stage(&self.layout, self.durable));
        let (mut held, failure) = self.ledger.lock(&self.layout);
        let published = match (staged, failure) {
            (Err(err), _) | (Ok(_), Some(err)) => Err(err),
            (Ok(staged), None) => self.account_and_rename(&mut held, entry, &record, staged),
        };
        match published {
            Ok((previous, interim, after)) => {
                if let Some(previous) = previous
                    && previous.integrity != record.integrity
                {
                    let old = self.layout.content_path(&previous.integrity);
                    if let Err(err) = remove_file_if_present(&old) {
                        self.counter.error(&self.name, &err);
                    }
                }
                self.counter.insert();
                // The next hit reads the new record from its file (and remembers it then).
                self.forget(entry);
                self.settle(&mut held, interim, after);
                Ok(())
            }
            Err(err) => {
                // The content stays if the index (still) names it: an earlier write of the
                // same value under the same key.
                let same_content = IndexRecord::peek(entry.index_path())
                    .is_some_and(|current| current.integrity == record.integrity);
                if !same_content {
                    let _ = remove_file_if_present(&content_path);
                }
                Err(err)
            }
        }
    }

    /// Under the ledger lock: counts the entry in the ledger and renames its staged
    /// record into place. Returns the record it replaced, the count written before the
    /// rename and the count once the replaced content is gone. The ledger is raised
    /// before the rename and lowered (by [`Engine::settle`]) only after the replaced
    /// content is gone, so it never understates what the folder holds.
    fn account_and_rename(
        &self,
        held: &mut HeldLedger<'_>,
        entry: &EntryLocation,
        record: &IndexRecord,
        staged: StagedRecord,
    ) -> Result<(Option<IndexRecord>, Usage, Usage), Error> {
        let (before, known) = match held.read()? {
            Some(usage) => (usage, true),
            None => (self.sweep_scope().count()?, false),
        };
        let previous = IndexRecord::peek(entry.index_path());
        let suffix = entry.digest().as_bytes().len();
        let replaced = previous
            .as_ref()
            .filter(|previous| previous.owner == self.owner)
            .map(|previous| previous.footprint(suffix));
        let after = before.after_write(record.footprint(suffix), replaced);
        let interim = before.max(after);
        if interim != before || !known {
            held.write(interim)?;
        }
        staged.publish(&self.layout, entry.index_path())?;
        Ok((previous, interim, after))
    }

    /// After a publish, under the ledger lock: writes the final count (lower than the
    /// interim one when the entry replaced a larger one) and sweeps when the cache is
    /// over `maxsize`. Failures are counted: the entry is stored either way.
    fn settle(&self, held: &mut HeldLedger<'_>, interim: Usage, after: Usage) {
        if after != interim
            && let Err(err) = held.write(after)
        {
            self.counter.error(&self.name, &err);
        }
        if self.maxsize.is_some_and(|maxsize| after.bytes() > maxsize)
            && let Err(err) = self.sweep_held(held)
        {
            self.counter.error(&self.name, &err);
        }
    }

    /// Removes `entry`'s index (if it still names `record`'s content) and that content,
    /// under the ledger lock. Failures are counted, not returned: the caller is already
    /// reporting a miss.
    pub(crate) fn drop_entry(&self, entry: &EntryLocation, record: &IndexRecord) {
        self.forget(entry);
        let (mut held, failure) = self.ledger.lock(&self.layout);
        if let Some(err) = failure {
            self.counter.error(&self.name, &err);
        }
        let still_current = IndexRecord::peek(entry.index_path())
            .is_none_or(|current| current.integrity == record.integrity);
        let removed = still_current
            && match remove_file_if_present(entry.index_path()) {
                Ok(removed) => removed,
                Err(err) => {
                    self.counter.error(&self.name, &err);
                    false
                }
            };
        if let Err(err) = remove_file_if_present(&self.layout.content_path(&record.integrity)) {
            self.counter.error(&self.name, &err);
        }
        if removed && record.owner == self.owner {
            self.account_removal(&mut held, record.footprint(entry.digest().as_bytes().len()));
        }
    }

    /// Removes an entry that could not be served and counts why.
    pub(crate) fn discard(&self, entry: &EntryLocation, record: &IndexRecord, why: &Error) {
        self.drop_entry(entry, record);
        self.counter.error(&self.name, why);
    }

    /// Removes the entry under `entry`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the files cannot be removed.
    pub(crate) fn remove(&self, entry: &EntryLocation) -> Result<bool, Error> {
        self.forget(entry);
        let (mut held, failure) = self.ledger.lock(&self.layout);
        if let Some(err) = failure {
            self.counter.error(&self.name, &err);
        }
        let record = IndexRecord::peek(entry.index_path());
        let existed = remove_file_if_present(entry.index_path())?;
        if let Some(record) = record {
            remove_file_if_present(&self.layout.content_path(&record.integrity))?;
            if existed && record.owner == self.owner {
                let footprint = record.footprint(entry.digest().as_bytes().len());
                self.account_removal(&mut held, footprint);
            }
        }
        Ok(existed)
    }

    /// Takes an entry of `footprint` bytes, whose files are gone, off the ledger (when it
    /// holds a count: an unknown one is recounted by the next write). Failures are
    /// counted: the ledger then overstates until the next sweep.
    fn account_removal(&self, held: &mut HeldLedger<'_>, footprint: u64) {
        if !held.is_shared() {
            return;
        }
        let written = held.read().and_then(|usage| match usage {
            Some(usage) => held.write(usage.after_removal(footprint)),
            None => Ok(()),
        });
        if let Err(err) = written {
            self.counter.error(&self.name, &err);
        }
    }

    /// A snapshot of the statistics; `size` is the number of entries of this cache in the
    /// folder, as the shared ledger counts them (a count of the folder when there is no
    /// ledger yet).
    pub(crate) fn stats(&self) -> Stats {
        let usage = match self.ledger.peek().or_else(|| self.ledger.last_known()) {
            Some(usage) => usage,
            // No ledger yet (nothing written since it was introduced): count once.
            None => match self.sweep_scope().count() {
                Ok(usage) => {
                    self.ledger.note(usage);
                    usage
                }
                Err(err) => {
                    self.counter.error(&self.name, &err);
                    Usage::default()
                }
            },
        };
        self.counter
            .snapshot_weighed(usage.entries(), usage.bytes(), self.maxsize)
    }

    /// What sweeps, counts and clears of this cache work on.
    fn sweep_scope(&self) -> SweepScope<'_> {
        SweepScope::new(&self.layout, self.owner, self.suffix_len)
    }

    /// Sweeps the folder (see `sweep.rs`) under the ledger lock, and counts what it
    /// removed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub(crate) fn sweep(&self) -> Result<SweepReport, Error> {
        let (mut held, failure) = self.ledger.lock(&self.layout);
        if let Some(err) = failure {
            self.counter.error(&self.name, &err);
        }
        self.sweep_held(&mut held)
    }

    /// [`Engine::sweep`] with the ledger already locked: the exact count it finds
    /// replaces the ledger's.
    fn sweep_held(&self, held: &mut HeldLedger<'_>) -> Result<SweepReport, Error> {
        let _span = tracing::trace_span!("twat_cache.file.sweep", cache = self.name()).entered();
        // Evicted and expired entries' content is gone, so remembered records would only
        // cost a failed open each: start over.
        self.memo.clear();
        let report = self.sweep_scope().sweep(
            self.maxsize,
            self.options.orphan_grace_period(),
            self.options.temp_grace_period(),
        )?;
        self.counter.evict(report.expired + report.evicted);
        if held.is_shared()
            && let Err(err) = held.write(Usage::new(report.entries, report.bytes))
        {
            self.counter.error(&self.name, &err);
        }
        if report.garbled > 0 {
            self.counter.error(
                &self.name,
                &corrupt("(index)", "garbled index records found by a sweep"),
            );
        }
        Ok(report)
    }

    /// Removes this cache's entries and their content (other caches in the folder keep
    /// theirs), then orphaned content, and resets the counters.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the folder cannot be read or files cannot be removed.
    pub(crate) fn clear(&self) -> Result<(), Error> {
        let (mut held, failure) = self.ledger.lock(&self.layout);
        self.memo.clear();
        self.sweep_scope()
            .clear(self.options.orphan_grace_period())?;
        self.counter.reset();
        if let Some(err) = failure {
            self.counter.error(&self.name, &err);
        }
        if held.is_shared()
            && let Err(err) = held.write(Usage::default())
        {
            self.counter.error(&self.name, &err);
        }
        Ok(())
    }
}
