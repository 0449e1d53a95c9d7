//! Streaming access for values larger than memory: [`FileReader`] and [`FileWriter`].
//!
//! Both hold the cache's [`Engine`] and go through its methods: the writer streams into a
//! cacache content writer (compressing on the fly when the cache compresses) and hands
//! the finished [`Content`] to [`Engine::publish`]; the reader verifies the content's
//! length, CRC-64 and key digest as it streams and, on damage, has the engine discard the
//! entry.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use twat_cache_core::Error;
use twat_cache_core::envelope::Flags;

use crate::checksum::Checksum;
use crate::content::{Content, SMALL_CONTENT, WRITE_CHUNK, backend};
use crate::engine::{Engine, corrupt};
use crate::layout::EntryLocation;
use crate::record::IndexRecord;

/// Streams a raw value into the cache; returned by
/// [`FileCache::set_writer`](crate::FileCache::set_writer).
///
/// Bytes go to a temporary file as they are written (compressed on the fly when the cache
/// compresses); [`FileWriter::commit`] publishes them atomically. Dropping the writer
/// without committing leaves the cache as it was.
///
/// ```
/// use std::io::{Read, Write};
/// # let dir = tempfile::tempdir()?;
/// # let config = twat_cache_core::CacheConfig::builder().build()?;
/// # let cache = twat_cache_file::FileCache::open_with(
/// #     &config, twat_cache_file::FileCacheOptions::new().directory(dir.path()))?;
/// let mut writer = cache.set_writer(&"big")?;
/// for block in 0..4_u8 {
///     writer.write_all(&[block; 1000])?;
/// }
/// writer.commit()?;
///
/// let mut reader = cache.get_reader(&"big")?.expect("just stored");
/// let mut bytes = Vec::new();
/// reader.read_to_end(&mut bytes)?; // errors if the content was damaged
/// assert_eq!(bytes.len(), 4000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileWriter {
    engine: Arc<Engine>,
    entry: EntryLocation,
    sink: Sink,
    value_len: u64,
}

enum Sink {
    Plain(BufWriter<Counted>),
    Zstd(zstd::stream::write::Encoder<'static, Counted>),
}

/// The cacache writer, counting and checksumming stored bytes and never handing it a
/// huge buffer.
struct Counted {
    writer: cacache::SyncWriter,
    written: u64,
    checksum: Checksum,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let end = buf.len().min(WRITE_CHUNK);
        let written = self.writer.write(buf.get(..end).unwrap_or(buf))?;
        self.checksum.update(buf.get(..written).unwrap_or_default());
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileWriter")
            .field("key", &self.entry.hex())
            .field("written", &self.value_len)
            .finish_non_exhaustive()
    }
}

impl FileWriter {
    /// A writer of a raw value under `entry` of `engine`'s cache.
    pub(crate) fn new(engine: &Arc<Engine>, entry: EntryLocation) -> Result<Self, Error> {
        let counted = Counted {
            writer: engine.content_writer()?,
            written: 0,
            checksum: Checksum::new(),
        };
        let sink = match engine.compression() {
            Some(level) => Sink::Zstd(
                zstd::stream::write::Encoder::new(counted, level)
                    .map_err(|err| Error::io(engine.layout().tmp_dir(), err))?,
            ),
            None => Sink::Plain(BufWriter::with_capacity(256 * 1024, counted)),
        };
        Ok(Self {
            engine: Arc::clone(engine),
            entry,
            sink,
            value_len: 0,
        })
    }

    /// Bytes written so far (before compression).
    #[must_use]
    pub const fn written(&self) -> u64 {
        self.value_len
    }

    /// Publishes the value: verifies nothing was lost, moves the content into place and
    /// points the key at it. A value larger than `maxsize` is dropped instead.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Backend`] when the content or index cannot be written.
    pub fn commit(self) -> Result<(), Error> {
        let Self {
            engine,
            entry,
            sink,
            value_len,
        } = self;
        let flags = Flags::RAW;
        let io_err = |err| Error::io(engine.layout().tmp_dir(), err);
        let (counted, flags) = match sink {
            Sink::Plain(buffered) => (
                buffered
                    .into_inner()
                    .map_err(|err| io_err(err.into_error()))?,
                flags,
            ),
            Sink::Zstd(encoder) => (
                encoder.finish().map_err(io_err)?,
                flags.union(Flags::COMPRESSED),
            ),
        };
        let Counted {
            mut writer,
            written: stored_len,
            mut checksum,
        } = counted;
        if engine.too_big(stored_len) {
            return Ok(());
        }
        writer
            .write_all(entry.digest().as_bytes())
            .map_err(io_err)?;
        checksum.update(entry.digest().as_bytes());
        let integrity = writer.commit().map_err(backend)?;
        let content = Content {
            flags,
            stored_len,
            value_len,
            checksum: checksum.value(),
            integrity,
        };
        engine.publish(&entry, content)
    }
}

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match &mut self.sink {
            Sink::Plain(writer) => writer.write(buf)?,
            Sink::Zstd(writer) => writer.write(buf)?,
        };
        self.value_len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(writer) => writer.flush(),
            Sink::Zstd(writer) => writer.flush(),
        }
    }
}

/// Streams a raw value out of the cache; returned by
/// [`FileCache::get_reader`](crate::FileCache::get_reader).
///
/// The content's integrity and length are checked as it streams; damage surfaces as an
/// [`io::ErrorKind::InvalidData`] error (at the latest instead of the final `Ok(0)`), and
/// the entry is removed so the next lookup is a miss.
pub struct FileReader {
    source: Source,
}

enum Source {
    /// A small value, read whole and checked when the reader was opened.
    Buffered {
        entry: EntryLocation,
        payload: io::Cursor<Vec<u8>>,
    },
    Plain(Verifying),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Verifying>>),
}

/// The content file, checksummed as it is read, limited to the payload, checked at the
/// end.
struct Verifying {
    engine: Arc<Engine>,
    entry: EntryLocation,
    record: Arc<IndexRecord>,
    reader: Option<File>,
    checksum: Checksum,
    remaining: u64,
    failed: bool,
}

impl fmt::Debug for FileReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.source {
            Source::Buffered { entry, .. } => entry.hex(),
            Source::Plain(verifying) => verifying.entry.hex(),
            Source::Zstd(decoder) => decoder.get_ref().get_ref().entry.hex(),
        };
        f.debug_struct("FileReader")
            .field("key", &key)
            .field("value_len", &self.len())
            .finish_non_exhaustive()
    }
}

impl FileReader {
    /// Opens the raw entry under `entry`, or `None` when there is no live raw entry.
    pub(crate) fn open(engine: &Arc<Engine>, entry: EntryLocation) -> Result<Option<Self>, Error> {
        // A small value this process has the record of: read whole now, one open of the
        // content file and no index file (`memo.rs` says why that is safe).
        if let Some((_, payload)) =
            engine.fetch_remembered(&entry, true, Some(SMALL_CONTENT as u64))
        {
            let payload = io::Cursor::new(payload);
            return Ok(Some(Self {
                source: Source::Buffered { entry, payload },
            }));
        }
        let Some(mut record) = engine.read_record(&entry, true)? else {
            return Ok(None);
        };
        let mut retried = false;
        let reader = loop {
            let path = engine.layout().content_path(&record.integrity);
            match File::open(&path) {
                Ok(reader) => break reader,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    match engine.read_record(&entry, false)? {
                        Some(current) if current.integrity == record.integrity => {
                            let why = corrupt(entry.hex(), "content file is missing");
                            engine.discard(&entry, &record, &why);
                            return Ok(None);
                        }
                        Some(current) if !retried => {
                            record = current;
                            retried = true;
                        }
                        _ => return Ok(None),
                    }
                }
                Err(err) => return Err(Error::io(&path, err)),
            }
        };
        if !record.header.flags.contains(Flags::RAW) {
            let why = corrupt(
                entry.hex(),
                "asked for raw bytes but the entry holds a serialized value",
            );
            engine.discard(&entry, &record, &why);
            return Ok(None);
        }
        let compressed = record.header.flags.contains(Flags::COMPRESSED);
        let verifying = Verifying {
            engine: Arc::clone(engine),
            remaining: record.stored_len,
            entry,
            record,
            reader: Some(reader),
            checksum: Checksum::new(),
            failed: false,
        };
        let source = if compressed {
            Source::Zstd(
                zstd::stream::read::Decoder::new(verifying)
                    .map_err(|err| Error::io(engine.layout().root(), err))?,
            )
        } else {
            Source::Plain(verifying)
        };
        Ok(Some(Self { source }))
    }

    /// The value's length in bytes (after decompression), as recorded when it was stored.
    #[must_use]
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::Buffered { payload, .. } => payload.get_ref().len() as u64,
            Source::Plain(verifying) => verifying.record.value_len,
            Source::Zstd(decoder) => decoder.get_ref().get_ref().record.value_len,
        }
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The verifying stream under a streaming reader (`None` for a buffered one).
    fn verifying_mut(&mut self) -> Option<&mut Verifying> {
        match &mut self.source {
            Source::Buffered { .. } => None,
            Source::Plain(verifying) => Some(verifying),
            Source::Zstd(decoder) => Some(decoder.get_mut().get_mut()),
        }
    }
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = match &mut self.source {
            Source::Buffered { payload, .. } => return payload.read(buf),
            Source::Plain(verifying) => verifying.read(buf),
            Source::Zstd(decoder) => decoder.read(buf),
        };
        let Some(verifying) = self.verifying_mut() else {
            return read;
        };
        match read {
            Ok(0) if !buf.is_empty() => {
                // The decoder may stop at the end of its frame without reading our end:
                // check the rest (nothing may follow) and the integrity before saying EOF.
                verifying.drain_and_check()?;
                Ok(0)
            }
            Ok(read) => Ok(read),
            Err(err) => {
                // A zstd error over content not yet checked: read the rest to learn
                // whether the content is damaged (then the entry is removed and that is
                // the error to report) or the failure was something else.
                match verifying.drain_and_check() {
                    Err(check) if check.kind() == io::ErrorKind::InvalidData => Err(check),
                    _ => Err(err),
                }
            }
        }
    }
}

impl Verifying {
    /// Fails the stream: removes the entry and counts the error.
    fn fail(&mut self, reason: &str) -> io::Error {
        self.reader = None;
        self.failed = true;
        let why = corrupt(self.entry.hex(), reason);
        self.engine.discard(&self.entry, &self.record, &why);
        io::Error::new(io::ErrorKind::InvalidData, why.to_string())
    }

    /// Reads (and checksums) whatever the decoder did not take, then checks the end.
    fn drain_and_check(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file cache entry failed its integrity check",
            ));
        }
        let leftover = io::copy(self, &mut io::sink())?;
        if leftover > 0 {
            return Err(self.fail("data follows the end of the compressed stream"));
        }
        Ok(())
    }

    /// At the end of the payload: reads the key digest suffix, insists on end of file and
    /// checks the content's integrity.
    fn finish(&mut self) -> io::Result<()> {
        let Some(mut reader) = self.reader.take() else {
            return Ok(());
        };
        let expected = *self.entry.digest();
        let mut suffix = vec![0_u8; expected.as_bytes().len()];
        match reader.read_exact(&mut suffix) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.fail("content is shorter than recorded (truncated)"));
            }
            Err(err) => return Err(err),
        }
        self.checksum.update(&suffix);
        let mut probe = [0_u8; 1];
        if reader.read(&mut probe)? != 0 {
            return Err(self.fail("content is longer than recorded"));
        }
        if self.checksum.value() != self.record.checksum {
            return Err(self.fail("content failed its checksum (damaged on disk)"));
        }
        if suffix != expected.as_bytes() {
            return Err(self.fail("content belongs to another key"));
        }
        Ok(())
    }
}

impl Read for Verifying {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file cache entry failed its integrity check",
            ));
        }
        if self.remaining == 0 || buf.is_empty() {
            if self.remaining == 0 {
                self.finish()?;
            }
            return Ok(0);
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (head, _) = buf.split_at_mut(want);
        let read = reader.read(head)?;
        self.checksum.update(head.get(..read).unwrap_or_default());
        if read == 0 {
            return Err(self.fail("content is shorter than recorded (truncated)"));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}
