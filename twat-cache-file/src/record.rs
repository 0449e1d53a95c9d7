//! The per-key index record: one small file per key digest, replaced atomically.
//!
//! ```text
//! offset   size  field
//! 0        4     magic b"TWCF"
//! 4        1     record version (1)
//! 5        11    twat-cache-core envelope header (flags COMPRESSED/RAW, expires_at)
//! 16       8     stored_len: payload bytes in the content file (after compression), LE
//! 24       8     value_len: payload bytes once decompressed (= stored_len if not), LE
//! 32       8     owner: xxh3-64 of the cache name, LE (several caches may share a folder)
//! 40       8     checksum: CRC-64/NVME of the whole content file, LE (checked on read)
//! 48       2     length n of the integrity string, LE
//! 50       n     the content's integrity (ssri text, e.g. "xxh3-…"), cacache's address
//! 50+n     8     xxh3-64 of bytes 0..50+n, LE
//! ```
//!
//! The trailing checksum makes a garbled or truncated record a detected miss rather
//! than a pointer to the wrong content.
//!
//! The record's file is read into a stack buffer (a record is ≈ 70 bytes) and replaced
//! by writing a temporary file and renaming it over the old one, so a reader in any
//! process sees the old record or the new one, never a mix.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cacache::Integrity;
use twat_cache_core::envelope::{self, HEADER_LEN, Header};
use twat_cache_core::{DecodeError, Error};
use xxhash_rust::xxh3::xxh3_64;

use crate::layout::{Layout, sync_path};

const MAGIC: [u8; 4] = *b"TWCF";
const VERSION: u8 = 1;
const FIXED_LEN: usize = 4 + 1 + HEADER_LEN + 8 + 8 + 8 + 8 + 2;

/// What an index file says about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexRecord {
    pub(crate) header: Header,
    pub(crate) stored_len: u64,
    pub(crate) value_len: u64,
    pub(crate) owner: u64,
    pub(crate) checksum: u64,
    pub(crate) integrity: Integrity,
}

impl IndexRecord {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, Error> {
        let integrity = self.integrity.to_string();
        let integrity_len = u16::try_from(integrity.len()).map_err(|err| {
            Error::encode_with(
                "value",
                format_args!("integrity string of {} bytes is too long", integrity.len()),
                err,
            )
        })?;
        let mut bytes = Vec::with_capacity(FIXED_LEN + integrity.len() + 8);
        bytes.extend_from_slice(&MAGIC);
        bytes.push(VERSION);
        self.header.write_to(&mut bytes);
        bytes.extend_from_slice(&self.stored_len.to_le_bytes());
        bytes.extend_from_slice(&self.value_len.to_le_bytes());
        bytes.extend_from_slice(&self.owner.to_le_bytes());
        bytes.extend_from_slice(&self.checksum.to_le_bytes());
        bytes.extend_from_slice(&integrity_len.to_le_bytes());
        bytes.extend_from_slice(integrity.as_bytes());
        let checksum = xxh3_64(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        Ok(bytes)
    }

    /// Parses a record, checking its magic, version and checksum.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let corrupt =
            |what: &str| DecodeError::payload_message(format_args!("index record: {what}"));
        let Some((body, checksum)) = bytes.split_last_chunk::<8>() else {
            return Err(DecodeError::Truncated {
                len: bytes.len(),
                needed: FIXED_LEN + 8,
            });
        };
        if xxh3_64(body) != u64::from_le_bytes(*checksum) {
            return Err(corrupt("checksum mismatch (garbled or truncated)"));
        }
        let Some((fixed, integrity)) = body.split_first_chunk::<FIXED_LEN>() else {
            return Err(DecodeError::Truncated {
                len: bytes.len(),
                needed: FIXED_LEN + 8,
            });
        };
        if fixed[..4] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if fixed[4] != VERSION {
            return Err(DecodeError::WrongVersion {
                found: fixed[4],
                expected: VERSION,
            });
        }
        let (header, rest) = envelope::open(&fixed[5..])?;
        let word = |at: usize| -> u64 {
            let mut word = [0_u8; 8];
            word.copy_from_slice(&rest[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let integrity_len = usize::from(u16::from_le_bytes([rest[32], rest[33]]));
        if integrity.len() != integrity_len {
            return Err(corrupt("integrity length mismatch"));
        }
        let integrity = std::str::from_utf8(integrity)
            .ok()
            .and_then(|text| text.parse::<Integrity>().ok())
            .ok_or_else(|| corrupt("unreadable integrity"))?;
        Ok(Self {
            header,
            stored_len: word(0),
            value_len: word(8),
            owner: word(16),
            checksum: word(24),
            integrity,
        })
    }

    /// The on-disk size this entry accounts for: its content (payload plus the key
    /// digest suffix) and a fixed allowance for the record.
    pub(crate) fn footprint(&self, suffix_len: usize) -> u64 {
        self.stored_len
            .saturating_add(suffix_len as u64)
            .saturating_add(RECORD_ALLOWANCE)
    }
}

/// Reading and writing the record's file.
impl IndexRecord {
    /// Reads and decodes the record in the open index file `file` (at `path`, named in
    /// errors). The outer `Err` is a failed read; the inner one a record that does not
    /// decode.
    pub(crate) fn read_from(
        file: &mut File,
        path: &Path,
    ) -> Result<Result<Self, DecodeError>, Error> {
        let mut buffer = [0_u8; 256];
        let mut filled = 0;
        let mut spilled = Vec::new();
        loop {
            let Some(free) = buffer.get_mut(filled..).filter(|free| !free.is_empty()) else {
                // Longer than any record this crate writes: read the rest, let decoding judge.
                spilled.extend_from_slice(&buffer);
                file.read_to_end(&mut spilled)
                    .map_err(|err| Error::io(path, err))?;
                break;
            };
            match file.read(free) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::io(path, err)),
            }
        }
        let bytes = if spilled.is_empty() {
            buffer.get(..filled).unwrap_or_default()
        } else {
            &spilled
        };
        Ok(Self::decode(bytes))
    }

    /// The record in the index file at `path`, if there is one that decodes; nothing is
    /// stamped, counted or removed.
    pub(crate) fn peek(path: &Path) -> Option<Self> {
        let bytes = std::fs::read(path).ok()?;
        Self::decode(&bytes).ok()
    }

    /// Writes the record to a temporary file in `layout`'s temporary folder, stamped with
    /// the current time (the entry's recency; fsynced with `durable`), ready to be
    /// renamed into place by [`StagedRecord::publish`]. Dropping it removes the file.
    pub(crate) fn stage(&self, layout: &Layout, durable: bool) -> Result<StagedRecord, Error> {
        let bytes = self.encode()?;
        let tmp = layout.tmp_dir();
        let mut temp = match tempfile::Builder::new().prefix("index-").tempfile_in(tmp) {
            Ok(temp) => temp,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                layout.create_dir(tmp)?;
                tempfile::Builder::new()
                    .prefix("index-")
                    .tempfile_in(tmp)
                    .map_err(|err| Error::io(tmp, err))?
            }
            Err(err) => return Err(Error::io(tmp, err)),
        };
        let file_err = |err| Error::io(temp_path_hint(tmp), err);
        temp.write_all(&bytes).map_err(file_err)?;
        // An explicit stamp: the kernel's own mtime ticks only every few milliseconds,
        // too coarse to order entries written in a burst.
        temp.as_file()
            .set_modified(SystemTime::now())
            .map_err(file_err)?;
        if durable {
            temp.as_file().sync_all().map_err(file_err)?;
        }
        Ok(StagedRecord { temp, durable })
    }
}

/// An index record written to a temporary file, not yet in place.
#[derive(Debug)]
pub(crate) struct StagedRecord {
    temp: tempfile::NamedTempFile,
    durable: bool,
}

impl StagedRecord {
    /// Renames the record over `index_path` atomically (a reader in any process sees the
    /// old record or the new one), creating the index shard folder if needed; with
    /// `durable`, the folder is fsynced.
    pub(crate) fn publish(self, layout: &Layout, index_path: &Path) -> Result<(), Error> {
        let durable = self.durable;
        let temp = match self.temp.persist(index_path) {
            Ok(_) => None,
            Err(err) if err.error.kind() == io::ErrorKind::NotFound => Some(err.file),
            Err(err) => return Err(Error::io(index_path, err.error)),
        };
        if let Some(temp) = temp {
            if let Some(parent) = index_path.parent() {
                layout.create_dir(parent)?;
            }
            temp.persist(index_path)
                .map_err(|err| Error::io(index_path, err.error))?;
        }
        if durable && let Some(parent) = index_path.parent() {
            sync_path(parent)?;
        }
        Ok(())
    }
}

/// How errors name a temporary index file (its random name is gone by then).
fn temp_path_hint(tmp: &Path) -> PathBuf {
    tmp.join("index-*")
}

/// Bytes counted for each index record in the size budget.
pub(crate) const RECORD_ALLOWANCE: u64 = 128;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use twat_cache_core::envelope::Flags;

    fn sample() -> IndexRecord {
        IndexRecord {
            header: Header {
                flags: Flags::RAW.union(Flags::COMPRESSED),
                expires_at: Some(123),
            },
            stored_len: 7,
            value_len: 9,
            owner: 42,
            checksum: 0xDEAD_BEEF,
            integrity: Integrity::from(b"hello"),
        }
    }

    #[test]
    fn round_trips() {
        let record = sample();
        let bytes = record.encode().unwrap();
        assert_eq!(IndexRecord::decode(&bytes).unwrap(), record);
    }

    #[test]
    fn every_flipped_byte_and_truncation_is_detected() {
        let bytes = sample().encode().unwrap();
        for at in 0..bytes.len() {
            let mut garbled = bytes.clone();
            garbled[at] ^= 0x55;
            assert!(IndexRecord::decode(&garbled).is_err(), "flip at {at}");
            assert!(IndexRecord::decode(&bytes[..at]).is_err(), "cut at {at}");
        }
    }
}
