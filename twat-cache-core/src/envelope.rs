//! The envelope every persistent engine stores: a fixed 11-byte header, then the payload.
//!
//! ```text
//! offset  size  field
//! 0       1     magic 0xCA
//! 1       1     format version (1)
//! 2       1     flags: bit 0 = payload is zstd-compressed, bit 1 = payload is raw bytes
//! 3       8     expires_at: Unix time in milliseconds, little-endian; 0 = never
//! 11      ..    payload (postcard, unless the raw flag is set)
//! ```
//!
//! The header lets an engine drop an expired entry without decoding the value, and lets a
//! newer build refuse entries of a format it does not read: a wrong magic, an unknown
//! version or flag, or a truncated header is a [`DecodeError`], and engines treat it as a
//! miss (remove, recompute), never as a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{decode_value, encode_value_into};
use crate::error::{DecodeError, Error};

/// The first byte of every envelope.
pub const MAGIC: u8 = 0xCA;
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// The header length in bytes.
pub const HEADER_LEN: usize = 11;

/// Flag bits in the envelope header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(u8);

impl Flags {
    /// No flags: an uncompressed postcard payload.
    pub const NONE: Self = Self(0);
    /// The payload is zstd-compressed.
    pub const COMPRESSED: Self = Self(0b01);
    /// The payload is the value's raw bytes rather than postcard.
    pub const RAW: Self = Self(0b10);
    const KNOWN: u8 = 0b11;

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// The decoded header of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Flag bits.
    pub flags: Flags,
    /// Unix time in milliseconds after which the entry is expired; `None` = never.
    pub expires_at: Option<u64>,
}

impl Header {
    /// A header for an entry stored now with an optional time-to-live.
    #[must_use]
    pub fn new(flags: Flags, ttl: Option<Duration>) -> Self {
        Self {
            flags,
            expires_at: ttl.map(expires_after),
        }
    }

    /// Whether the entry is expired at `now_ms` (Unix milliseconds).
    #[must_use]
    pub fn is_expired_at(&self, now_ms: u64) -> bool {
        self.expires_at.is_some_and(|at| now_ms >= at)
    }

    /// Whether the entry is expired now.
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.is_expired_at(unix_millis_now())
    }

    /// Writes the header bytes to the start of `buffer`.
    pub fn write_to(&self, buffer: &mut Vec<u8>) {
        buffer.push(MAGIC);
        buffer.push(FORMAT_VERSION);
        buffer.push(self.flags.0);
        buffer.extend_from_slice(&self.expires_at.unwrap_or(0).to_le_bytes());
    }
}

/// Seals a payload that is already encoded: header followed by `payload`.
#[must_use]
pub fn seal(header: Header, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    header.write_to(&mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

/// Encodes `value` with postcard straight into a sealed envelope (one allocation).
///
/// ```
/// use std::time::Duration;
/// use twat_cache_core::envelope::{open, open_value, seal_value, Flags, Header};
///
/// let bytes = seal_value(Header::new(Flags::NONE, Some(Duration::from_secs(60))), &"hello")?;
/// let (header, _payload) = open(&bytes)?;
/// assert!(!header.is_expired());
/// let (_, value): (_, String) = open_value(&bytes)?;
/// assert_eq!(value, "hello");
/// # Ok::<(), twat_cache_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Encode`] when the value cannot be serialized.
pub fn seal_value<V: Serialize + ?Sized>(header: Header, value: &V) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + 32);
    header.write_to(&mut bytes);
    encode_value_into(value, bytes)
}

/// Splits an envelope into its header and payload.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are shorter than the header, the magic or version is
/// wrong, or unknown flag bits are set.
pub fn open(bytes: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    let Some((head, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Truncated {
            len: bytes.len(),
            needed: HEADER_LEN,
        });
    };
    let [magic, version, flags, expiry @ ..] = *head;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic(magic));
    }
    if version != FORMAT_VERSION {
        return Err(DecodeError::WrongVersion {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    if flags & !Flags::KNOWN != 0 {
        return Err(DecodeError::UnknownFlags(flags));
    }
    let expires_at = u64::from_le_bytes(expiry);
    Ok((
        Header {
            flags: Flags(flags),
            expires_at: (expires_at != 0).then_some(expires_at),
        },
        payload,
    ))
}

/// Opens an envelope and decodes its postcard payload as `V`.
///
/// The caller decides what an expired header means; this function only decodes.
///
/// # Errors
///
/// [`DecodeError`] as for [`open`], and [`DecodeError::Payload`] when the payload is
/// compressed or raw (those need the engine that wrote them) or is not a whole `V`.
pub fn open_value<V: DeserializeOwned>(bytes: &[u8]) -> Result<(Header, V), DecodeError> {
    let (header, payload) = open(bytes)?;
    if header.flags != Flags::NONE {
        return Err(DecodeError::payload_message(format_args!(
            "payload has flags {:#04x}; decode it with the engine that wrote it",
            header.flags.0
        )));
    }
    Ok((header, decode_value(payload)?))
}

/// The current Unix time in milliseconds (0 if the clock is before 1970).
#[must_use]
pub fn unix_millis_now() -> u64 {
    unix_millis(SystemTime::now())
}

/// A time as Unix milliseconds, saturating (0 before 1970, `u64::MAX` far in the future).
#[must_use]
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// The Unix millisecond at which an entry stored now with `ttl` expires (at least 1 so
/// that it never reads as "never").
#[must_use]
pub fn expires_after(ttl: Duration) -> u64 {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    unix_millis_now().saturating_add(ttl_ms.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = Header {
            flags: Flags::COMPRESSED,
            expires_at: Some(1_700_000_000_000),
        };
        let bytes = seal(header, b"xyz");
        assert_eq!(bytes.len(), HEADER_LEN + 3);
        let (back, payload) = open(&bytes).unwrap();
        assert_eq!(back, header);
        assert_eq!(payload, b"xyz");
        assert!(back.is_expired_at(1_700_000_000_000));
        assert!(!back.is_expired_at(1_699_999_999_999));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(matches!(
            open(&[MAGIC, FORMAT_VERSION]),
            Err(DecodeError::Truncated { len: 2, .. })
        ));
        let mut bytes = seal(Header::new(Flags::NONE, None), b"");
        bytes[0] = 0;
        assert!(matches!(open(&bytes), Err(DecodeError::BadMagic(0))));
        bytes[0] = MAGIC;
        bytes[1] = 99;
        assert!(matches!(
            open(&bytes),
            Err(DecodeError::WrongVersion { found: 99, .. })
        ));
        bytes[1] = FORMAT_VERSION;
        bytes[2] = 0x80;
        assert!(matches!(open(&bytes), Err(DecodeError::UnknownFlags(0x80))));
    }

    #[test]
    fn expired_after_ttl() {
        let header = Header::new(Flags::NONE, Some(Duration::from_millis(1)));
        let at = header.expires_at.unwrap();
        assert!(header.is_expired_at(at));
        assert!(!Header::new(Flags::NONE, None).is_expired());
    }
}
