//! Stable key bytes and file-name digests.
//!
//! # Why this layout
//!
//! Persistent engines must find an entry written by another process, or by the same
//! program after a restart, so keys can never come from a process-seeded hash (ahash and
//! std's `RandomState` change every run). A key is therefore the postcard encoding of the
//! arguments, which is stable across processes, platforms and releases of postcard 1.x.
//!
//! The persistent key is `namespace ‖ argument bytes`, where the namespace is the postcard
//! encoding of `(cache name, version)`. Postcard writes strings length-prefixed, so the
//! namespace is self-delimiting: no name is a prefix of another name's keys, and two
//! functions sharing a folder never see each other's entries. Bumping `version` moves a
//! cache to a fresh key space without deleting anything by hand.
//!
//! File names need fixed-length, path-safe strings: the [`Digest`] of the key bytes,
//! BLAKE3 when the cache is `secure` (the default: names reveal nothing and cannot be
//! steered into collisions) and xxh3-128 otherwise (several times faster, not
//! collision-resistant against an adversary).

use std::fmt;

use serde::Serialize;

use crate::error::Error;

/// Encodes any `Serialize` value as its stable key bytes (postcard).
///
/// Equal values give equal bytes, in every process and on every run.
///
/// ```
/// let a = twat_cache_core::key_bytes(&("report", 7_u64)).unwrap();
/// let b = twat_cache_core::key_bytes(&("report", 7_u64)).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a, [6, b'r', b'e', b'p', b'o', b'r', b't', 7]);
/// ```
///
/// # Errors
///
/// [`Error::Encode`] when the value's `Serialize` implementation fails (for instance a
/// map or sequence whose length is not known up front, which postcard cannot write).
pub fn key_bytes<K: Serialize + ?Sized>(key: &K) -> Result<Vec<u8>, Error> {
    postcard::to_stdvec(key).map_err(|err| Error::Encode {
        what: "key",
        reason: err.to_string(),
    })
}

/// Encoded key bytes with no heap allocation for small keys: the in-memory engines' key
/// type when the arguments are hashed by their serialized form.
///
/// Keys of up to [`KeyBuf::INLINE`] bytes (any tuple of a few integers, short strings,
/// a handful of floats) are kept inline; longer ones spill to the heap. Equality and
/// hashing are over the bytes, so two argument lists that serialize equally are one key —
/// which lets `f64`, `&str`, slices and any `Serialize` struct be a key with no `Hash`/`Eq`.
///
/// ```
/// use twat_cache_core::KeyBuf;
///
/// let a = KeyBuf::encode(&(1.5_f64, "word")).unwrap();
/// let b = KeyBuf::encode(&(1.5_f64, "word")).unwrap();
/// assert_eq!(a, b);
/// assert!(a.is_inline());
/// assert_eq!(a.as_bytes(), twat_cache_core::key_bytes(&(1.5_f64, "word")).unwrap());
/// assert!(!KeyBuf::encode(&"x".repeat(100)).unwrap().is_inline());
/// ```
#[derive(Clone)]
pub struct KeyBuf(KeyRepr);

#[derive(Clone)]
enum KeyRepr {
    Inline {
        len: u8,
        bytes: [u8; KeyBuf::INLINE],
    },
    Heap(Box<[u8]>),
}

impl KeyBuf {
    /// Keys up to this many bytes are stored without a heap allocation.
    pub const INLINE: usize = 30;

    /// Encodes `key` (postcard), inline when it fits.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized.
    #[inline]
    pub fn encode<K: Serialize + ?Sized>(key: &K) -> Result<Self, Error> {
        let mut bytes = [0_u8; Self::INLINE];
        match postcard::to_slice(key, &mut bytes) {
            Ok(used) => {
                let len = used.len();
                Ok(Self(KeyRepr::Inline {
                    // `len <= INLINE < 256`, so this never truncates.
                    len: u8::try_from(len).unwrap_or(u8::MAX),
                    bytes,
                }))
            }
            Err(postcard::Error::SerializeBufferFull) => {
                Ok(Self(KeyRepr::Heap(key_bytes(key)?.into_boxed_slice())))
            }
            Err(err) => Err(Error::Encode {
                what: "key",
                reason: err.to_string(),
            }),
        }
    }

    /// The key bytes.
    #[inline]
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline { len, bytes } => &bytes[..usize::from(*len).min(Self::INLINE)],
            KeyRepr::Heap(bytes) => bytes,
        }
    }

    /// Whether the key is stored inline (no heap allocation).
    #[must_use]
    pub const fn is_inline(&self) -> bool {
        matches!(self.0, KeyRepr::Inline { .. })
    }
}

impl PartialEq for KeyBuf {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for KeyBuf {}

impl std::hash::Hash for KeyBuf {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for KeyBuf {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for KeyBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyBuf({:02x?})", self.as_bytes())
    }
}

/// The key space of one cache: its name and version, encoded once as a byte prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    name: String,
    version: u32,
    prefix: Vec<u8>,
}

impl Namespace {
    /// The namespace of the cache `name` at `version`.
    #[must_use]
    pub fn new(name: &str, version: u32) -> Self {
        // Encoding a `(&str, u32)` into a Vec cannot fail; fall back to a hand-written
        // identical layout rather than panicking if postcard ever says otherwise.
        let prefix = postcard::to_stdvec(&(name, version)).unwrap_or_else(|_| {
            let mut bytes = Vec::with_capacity(name.len() + 10);
            push_varint(&mut bytes, name.len() as u64);
            bytes.extend_from_slice(name.as_bytes());
            push_varint(&mut bytes, u64::from(version));
            bytes
        });
        Self {
            name: name.to_owned(),
            version,
            prefix,
        }
    }

    /// The namespace of the cache `name` at `version` for values of type `V`: the prefix
    /// also carries [`type_fingerprint::<V>()`](type_fingerprint), so entries written when
    /// the value had another type are never found (rather than decoded as a wrong value).
    ///
    /// ```
    /// use twat_cache_core::Namespace;
    ///
    /// let before = Namespace::typed::<(u8, u8)>("report", 0);
    /// let after = Namespace::typed::<String>("report", 0);
    /// assert_ne!(before.prefix(), after.prefix());
    /// ```
    #[must_use]
    pub fn typed<V: ?Sized>(name: &str, version: u32) -> Self {
        let mut namespace = Self::new(name, version);
        push_varint(&mut namespace.prefix, type_fingerprint::<V>());
        namespace
    }

    /// The cache name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key-space version.
    #[must_use]
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The encoded `(name, version)` prefix every key of this namespace starts with.
    #[must_use]
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The namespaced key bytes of `key`: `prefix ‖ key_bytes(key)`.
    ///
    /// ```
    /// use twat_cache_core::Namespace;
    ///
    /// let users = Namespace::new("users", 0);
    /// let posts = Namespace::new("posts", 0);
    /// assert_ne!(users.key(&42_u64).unwrap(), posts.key(&42_u64).unwrap());
    /// assert!(users.key(&42_u64).unwrap().starts_with(users.prefix()));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] as for [`key_bytes`].
    pub fn key<K: Serialize + ?Sized>(&self, key: &K) -> Result<Vec<u8>, Error> {
        let buffer = self.prefix.clone();
        postcard::to_extend(key, buffer).map_err(|err| Error::Encode {
            what: "key",
            reason: err.to_string(),
        })
    }

    /// Prepends this namespace to key bytes that were already encoded.
    #[must_use]
    pub fn key_from_bytes(&self, key_bytes: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + key_bytes.len());
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(key_bytes);
        key
    }
}

/// A 64-bit fingerprint of a type's name (xxh3 of [`std::any::type_name`]).
///
/// Type names are not promised stable across compiler versions; when one changes, the
/// fingerprint changes and old entries are simply not found — a miss, never a wrong value.
#[must_use]
pub fn type_fingerprint<T: ?Sized>() -> u64 {
    xxhash_rust::xxh3::xxh3_64(std::any::type_name::<T>().as_bytes())
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "each byte keeps the low 7 bits on purpose (LEB128)"
)]
fn push_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// Which hash names files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// BLAKE3, 256 bits: collision-resistant (used when `secure = true`).
    Blake3,
    /// xxh3, 128 bits: fast, not collision-resistant against an adversary.
    Xxh3,
}

impl DigestAlgorithm {
    /// BLAKE3 when `secure`, xxh3-128 otherwise.
    #[must_use]
    pub const fn for_security(secure: bool) -> Self {
        if secure { Self::Blake3 } else { Self::Xxh3 }
    }
}

/// A fixed-length digest of key bytes, for file names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    bytes: [u8; 32],
    len: u8,
}

impl Digest {
    /// Hashes `bytes` with `algorithm`.
    ///
    /// ```
    /// use twat_cache_core::{Digest, DigestAlgorithm};
    ///
    /// let digest = Digest::of(b"key", DigestAlgorithm::Xxh3);
    /// assert_eq!(digest.as_bytes().len(), 16);
    /// assert_eq!(digest.to_hex().len(), 32);
    /// ```
    #[must_use]
    pub fn of(bytes: &[u8], algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Blake3 => Self {
                bytes: *blake3::hash(bytes).as_bytes(),
                len: 32,
            },
            DigestAlgorithm::Xxh3 => {
                let mut out = [0_u8; 32];
                let hash = xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes();
                out[..16].copy_from_slice(&hash);
                Self {
                    bytes: out,
                    len: 16,
                }
            }
        }
    }

    /// The digest bytes (32 for BLAKE3, 16 for xxh3-128).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The digest as lower-case hexadecimal, safe as a file name on every platform.
    #[must_use]
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut hex = String::with_capacity(usize::from(self.len) * 2);
        for byte in self.as_bytes() {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_prefix_matches_hand_written_layout() {
        let namespace = Namespace::new("abc", 300);
        let mut expected = Vec::new();
        push_varint(&mut expected, 3);
        expected.extend_from_slice(b"abc");
        push_varint(&mut expected, 300);
        assert_eq!(namespace.prefix(), expected.as_slice());
    }

    #[test]
    fn key_from_bytes_equals_key() {
        let namespace = Namespace::new("n", 1);
        let raw = key_bytes(&(1_u8, "x")).unwrap();
        assert_eq!(
            namespace.key_from_bytes(&raw),
            namespace.key(&(1_u8, "x")).unwrap()
        );
    }
}
