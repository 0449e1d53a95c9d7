//! Content files: writing a payload into cacache's content store, and reading one back
//! with every check that makes a damaged file a miss instead of wrong bytes.
//!
//! A content file holds the stored payload (zstd-compressed when the entry says so)
//! followed by the key's digest, so two keys never share a file. It is addressed by
//! cacache's xxh3-128 integrity; on reads this module checks the file's length against
//! the record, its CRC-64 against the record (the `checksum` module says why not cacache's
//! re-hash) and the key digest at its end, then decompresses.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use cacache::{Algorithm, Integrity};
use twat_cache_core::envelope::Flags;
use twat_cache_core::{Digest, EngineKind, Error};

use crate::checksum::Checksum;
use crate::layout::Layout;
use crate::record::IndexRecord;

/// Content up to this size is read into a zeroed buffer of the recorded length; larger
/// content the way `std::fs::read` reads (no zeroing, two metadata calls).
pub(crate) const SMALL_CONTENT: usize = 64 * 1024;
/// Largest single write handed to cacache (whose writer hashes a buffer before writing
/// it, so a partial write of a huge buffer must never happen).
pub(crate) const WRITE_CHUNK: usize = 64 * 1024 * 1024;

/// Freshly written content, ready to be published under a key.
#[derive(Debug)]
pub(crate) struct Content {
    /// How the payload is stored (`RAW`, `COMPRESSED`).
    pub(crate) flags: Flags,
    /// Payload bytes in the content file (after compression, before the key digest).
    pub(crate) stored_len: u64,
    /// Payload bytes once decompressed.
    pub(crate) value_len: u64,
    /// CRC-64 of the whole content file (payload and key digest).
    pub(crate) checksum: u64,
    /// cacache's address of the content.
    pub(crate) integrity: Integrity,
}

/// What reading a content file gave.
pub(crate) enum ContentRead {
    /// The stored payload (still compressed when the entry is), checks passed.
    Bytes(Vec<u8>),
    /// No content file at the recorded address.
    Missing,
    /// The content failed a check; the reason, for the error count.
    Corrupt(String),
}

/// A cacache content writer in `layout` using xxh3-128 integrity.
pub(crate) fn writer(layout: &Layout) -> Result<cacache::SyncWriter, Error> {
    cacache::WriteOpts::new()
        .algorithm(Algorithm::Xxh3)
        .open_hash_sync(layout.root())
        .map_err(backend)
}

/// Writes `stored` (the payload as stored, `value_len` bytes once decoded, flagged
/// `flags`) followed by the key `digest` into cacache's content store.
pub(crate) fn write(
    layout: &Layout,
    stored: &[u8],
    digest: &Digest,
    flags: Flags,
    value_len: u64,
) -> Result<Content, Error> {
    let mut writer = writer(layout)?;
    let written =
        write_chunked(&mut writer, stored).and_then(|()| writer.write_all(digest.as_bytes()));
    if let Err(err) = written {
        return Err(Error::io(layout.tmp_dir(), err));
    }
    let mut checksum = Checksum::new();
    checksum.update(stored);
    checksum.update(digest.as_bytes());
    let integrity = writer.commit().map_err(backend)?;
    Ok(Content {
        flags,
        stored_len: stored.len() as u64,
        value_len,
        checksum: checksum.value(),
        integrity,
    })
}

/// Reads the content of `record` in `layout` and verifies its length, checksum and the
/// key `digest` it must end with.
pub(crate) fn read(
    layout: &Layout,
    record: &IndexRecord,
    digest: &Digest,
) -> Result<ContentRead, Error> {
    read_with_suffix(layout, record, digest.as_bytes())
}

/// [`read`] for a key digest known only as its bytes (the index file's name, to
/// `inspect`).
pub(crate) fn read_with_suffix(
    layout: &Layout,
    record: &IndexRecord,
    suffix: &[u8],
) -> Result<ContentRead, Error> {
    read_at(&layout.content_path(&record.integrity), record, suffix)
}

/// [`read`] of the content file at `path` (where `record`'s integrity puts it).
pub(crate) fn read_at(
    path: &Path,
    record: &IndexRecord,
    suffix: &[u8],
) -> Result<ContentRead, Error> {
    let Some(total) = usize::try_from(record.stored_len)
        .ok()
        .and_then(|len| len.checked_add(suffix.len()))
    else {
        return Ok(ContentRead::Corrupt(format!(
            "recorded length {} does not fit in memory",
            record.stored_len
        )));
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(ContentRead::Missing),
        Err(err) => return Err(Error::io(path, err)),
    };
    let mut buffer = if total <= SMALL_CONTENT {
        // Small values: the record says the length, so skip the metadata calls that
        // `read_to_end` makes to size its buffer, and ask for one byte more than
        // recorded: a regular file returns fewer bytes than asked only at its end, so
        // one read usually both fills the buffer and shows that nothing follows.
        let mut buffer = vec![0_u8; total + 1];
        let mut filled = 0;
        loop {
            match file.read(buffer.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(read) => {
                    filled += read;
                    // Short of the probe byte: the end of the file (the checksum below
                    // judges the bytes; anything beyond them cannot be served).
                    if filled >= total {
                        break;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::io(path, err)),
            }
        }
        buffer.truncate(filled);
        buffer
    } else {
        // What `std::fs::read` does: one allocation sized from the file's length,
        // filled by the kernel with no zeroing pass. One byte more, so that a content
        // file longer than recorded shows without a reallocation.
        let mut buffer = Vec::with_capacity(total.saturating_add(1));
        file.read_to_end(&mut buffer)
            .map_err(|err| Error::io(path, err))?;
        buffer
    };
    if buffer.len() != total {
        let how = if buffer.len() < total {
            "shorter than recorded (truncated)"
        } else {
            "longer than recorded"
        };
        return Ok(ContentRead::Corrupt(format!("content is {how}")));
    }
    let mut checksum = Checksum::new();
    checksum.update(&buffer);
    if checksum.value() != record.checksum {
        return Ok(ContentRead::Corrupt(
            "content failed its checksum (damaged on disk)".to_owned(),
        ));
    }
    let stored_len = total - suffix.len();
    if buffer.get(stored_len..) != Some(suffix) {
        return Ok(ContentRead::Corrupt(
            "content belongs to another key".to_owned(),
        ));
    }
    buffer.truncate(stored_len);
    Ok(ContentRead::Bytes(buffer))
}

/// Decompresses a stored payload when it is compressed.
pub(crate) fn unpack(record: &IndexRecord, stored: Vec<u8>) -> Result<Vec<u8>, String> {
    if !record.header.flags.contains(Flags::COMPRESSED) {
        return Ok(stored);
    }
    let capacity = usize::try_from(record.value_len).map_err(|_| {
        format!(
            "recorded length {} does not fit in memory",
            record.value_len
        )
    })?;
    let payload = crate::compression::decompress(&stored, capacity)
        .map_err(|err| format!("zstd payload does not decompress: {err}"))?;
    if payload.len() == capacity {
        Ok(payload)
    } else {
        Err(format!(
            "decompressed to {} bytes, {} recorded",
            payload.len(),
            capacity
        ))
    }
}

/// Hands `bytes` to `writer` in chunks of at most [`WRITE_CHUNK`].
fn write_chunked(writer: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    bytes
        .chunks(WRITE_CHUNK)
        .try_for_each(|chunk| writer.write_all(chunk))
}

/// Maps a cacache error to the workspace error.
pub(crate) fn backend(err: cacache::Error) -> Error {
    match err {
        // The new io error keeps cacache's context in its message and the original
        // as its source (`io::Error::source` forwards to `IoContext::source`).
        cacache::Error::IoError(source, context) => Error::Io {
            path: None,
            source: io::Error::new(source.kind(), IoContext { context, source }),
        },
        other => Error::backend(EngineKind::File, other),
    }
}

/// An io error with the context cacache gave it.
#[derive(Debug)]
struct IoContext {
    context: String,
    source: io::Error,
}

impl std::fmt::Display for IoContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl std::error::Error for IoContext {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn cacache_errors_stay_the_source() {
        let missing = cacache::Error::EntryNotFound("/cache".into(), "k".to_owned());
        let err = backend(missing);
        assert!(matches!(err, Error::Backend { .. }));
        let cause = err
            .source()
            .and_then(|s| s.downcast_ref::<cacache::Error>());
        assert!(matches!(cause, Some(cacache::Error::EntryNotFound(..))));

        // An io error keeps cacache's context in the message and the original below it.
        let denied = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let err = backend(cacache::Error::IoError(
            denied,
            "writing the index".to_owned(),
        ));
        assert!(matches!(err, Error::Io { .. }));
        assert!(
            err.to_string().contains("writing the index: denied"),
            "{err}"
        );
        let io = err.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::PermissionDenied)
        );
        let original = io.and_then(|e| e.source()).map(ToString::to_string);
        assert_eq!(original.as_deref(), Some("denied"));
    }
}
