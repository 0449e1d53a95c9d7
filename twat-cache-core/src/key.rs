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
    /// Small keys go through `inline::Writer`, a serializer that writes postcard's exact
    /// bytes straight into the inline buffer (several times faster than `postcard::to_slice`
    /// for a few integers); anything it does not handle — a key longer than
    /// [`KeyBuf::INLINE`], a sequence of unknown length, `collect_str` — is encoded by
    /// postcard itself, so the bytes are postcard's in every case.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized.
    #[inline]
    pub fn encode<K: Serialize + ?Sized>(key: &K) -> Result<Self, Error> {
        // Written in place, so the freshly stored bytes are not copied again with wide
        // loads (a store-forwarding stall that cost more than the encoding itself).
        let mut out = Self(KeyRepr::Inline {
            len: 0,
            bytes: [0; Self::INLINE],
        });
        if let KeyRepr::Inline { len, bytes } = &mut out.0 {
            let mut writer = inline::Writer { bytes, len: 0 };
            if key.serialize(&mut writer).is_err() {
                return Self::encode_slow(key);
            }
            *len = writer.finish();
        }
        Ok(out)
    }

    /// Postcard's own encoder, for what [`inline::Writer`] gave up on.
    #[cold]
    fn encode_slow<K: Serialize + ?Sized>(key: &K) -> Result<Self, Error> {
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
    /// Inline keys compare as fixed-size arrays: the bytes past `len` are always zero
    /// (both encoders start from a zeroed buffer and write only the encoding), so equal
    /// arrays and lengths mean equal bytes, with no call to `memcmp`. A byte string has
    /// one representation (inline exactly when it fits), so mixed pairs differ.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (
                KeyRepr::Inline { len, bytes },
                KeyRepr::Inline {
                    len: other_len,
                    bytes: other_bytes,
                },
            ) => len == other_len && bytes == other_bytes,
            (KeyRepr::Heap(bytes), KeyRepr::Heap(other_bytes)) => bytes == other_bytes,
            _ => false,
        }
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

/// The inline fast path of [`KeyBuf::encode`].
mod inline {
    use serde::ser::{self, Serialize};

    use super::KeyBuf;

    /// Why [`Writer`] gave up; [`KeyBuf::encode`] then asks postcard.
    #[derive(Debug)]
    pub(super) struct GaveUp;

    impl std::fmt::Display for GaveUp {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("not an inline postcard key")
        }
    }

    impl std::error::Error for GaveUp {}

    impl ser::Error for GaveUp {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Self
        }
    }

    type Result = std::result::Result<(), GaveUp>;

    /// A serializer writing postcard's format into a zeroed `[u8; INLINE]`: LEB128
    /// varints (zigzag for signed integers wider than a byte), floats little-endian,
    /// length-prefixed strings, bytes and sequences, variant indices as varints, nothing
    /// for tuples and struct boundaries. It fails (and postcard takes over) when the
    /// encoding does not fit, a length is unknown, or for `collect_str`.
    pub(super) struct Writer<'a> {
        /// Zeroed by the caller.
        pub(super) bytes: &'a mut [u8; KeyBuf::INLINE],
        pub(super) len: usize,
    }

    impl Writer<'_> {
        /// The encoded length.
        #[inline]
        #[allow(
            clippy::cast_possible_truncation,
            reason = "len <= INLINE < 256 is kept by every push"
        )]
        pub(super) const fn finish(&self) -> u8 {
            self.len as u8
        }

        #[inline]
        fn push(&mut self, byte: u8) -> Result {
            let slot = self.bytes.get_mut(self.len).ok_or(GaveUp)?;
            *slot = byte;
            self.len += 1;
            Ok(())
        }

        #[inline]
        fn extend(&mut self, data: &[u8]) -> Result {
            let end = self.len + data.len();
            self.bytes
                .get_mut(self.len..end)
                .ok_or(GaveUp)?
                .copy_from_slice(data);
            self.len = end;
            Ok(())
        }

        /// LEB128, as postcard's `varint_u*`: seven bits a byte, low first, high bit set
        /// on every byte but the last.
        #[inline]
        #[allow(
            clippy::cast_possible_truncation,
            reason = "each byte keeps the low 7 bits on purpose (LEB128)"
        )]
        fn varint(&mut self, mut value: u64) -> Result {
            while value >= 0x80 {
                self.push((value as u8) | 0x80)?;
                value >>= 7;
            }
            self.push(value as u8)
        }

        /// [`Writer::varint`] for 128-bit integers.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "each byte keeps the low 7 bits on purpose (LEB128)"
        )]
        fn varint_wide(&mut self, mut value: u128) -> Result {
            while value >= 0x80 {
                self.push((value as u8) | 0x80)?;
                value >>= 7;
            }
            self.push(value as u8)
        }
    }

    impl ser::Serializer for &mut Writer<'_> {
        type Ok = ();
        type Error = GaveUp;
        type SerializeSeq = Self;
        type SerializeTuple = Self;
        type SerializeTupleStruct = Self;
        type SerializeTupleVariant = Self;
        type SerializeMap = Self;
        type SerializeStruct = Self;
        type SerializeStructVariant = Self;

        #[inline]
        fn is_human_readable(&self) -> bool {
            false
        }
        #[inline]
        fn serialize_bool(self, v: bool) -> Result {
            self.push(u8::from(v))
        }
        #[inline]
        fn serialize_i8(self, v: i8) -> Result {
            self.push(v.to_le_bytes()[0])
        }
        #[inline]
        fn serialize_i16(self, v: i16) -> Result {
            self.varint(u64::from(((v << 1) ^ (v >> 15)).cast_unsigned()))
        }
        #[inline]
        fn serialize_i32(self, v: i32) -> Result {
            self.varint(u64::from(((v << 1) ^ (v >> 31)).cast_unsigned()))
        }
        #[inline]
        fn serialize_i64(self, v: i64) -> Result {
            self.varint(((v << 1) ^ (v >> 63)).cast_unsigned())
        }
        #[inline]
        fn serialize_i128(self, v: i128) -> Result {
            self.varint_wide(((v << 1) ^ (v >> 127)).cast_unsigned())
        }
        #[inline]
        fn serialize_u8(self, v: u8) -> Result {
            self.push(v)
        }
        #[inline]
        fn serialize_u16(self, v: u16) -> Result {
            self.varint(u64::from(v))
        }
        #[inline]
        fn serialize_u32(self, v: u32) -> Result {
            self.varint(u64::from(v))
        }
        #[inline]
        fn serialize_u64(self, v: u64) -> Result {
            self.varint(v)
        }
        #[inline]
        fn serialize_u128(self, v: u128) -> Result {
            self.varint_wide(v)
        }
        #[inline]
        fn serialize_f32(self, v: f32) -> Result {
            self.extend(&v.to_bits().to_le_bytes())
        }
        #[inline]
        fn serialize_f64(self, v: f64) -> Result {
            self.extend(&v.to_bits().to_le_bytes())
        }
        #[inline]
        fn serialize_char(self, v: char) -> Result {
            let mut buf = [0_u8; 4];
            self.serialize_str(v.encode_utf8(&mut buf))
        }
        #[inline]
        fn serialize_str(self, v: &str) -> Result {
            self.serialize_bytes(v.as_bytes())
        }
        #[inline]
        fn serialize_bytes(self, v: &[u8]) -> Result {
            self.varint(v.len() as u64)?;
            self.extend(v)
        }
        #[inline]
        fn serialize_none(self) -> Result {
            self.push(0)
        }
        #[inline]
        fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
            self.push(1)?;
            value.serialize(self)
        }
        #[inline]
        fn serialize_unit(self) -> Result {
            Ok(())
        }
        #[inline]
        fn serialize_unit_struct(self, _: &'static str) -> Result {
            Ok(())
        }
        #[inline]
        fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Result {
            self.varint(u64::from(index))
        }
        #[inline]
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result {
            value.serialize(self)
        }
        #[inline]
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            index: u32,
            _: &'static str,
            value: &T,
        ) -> Result {
            self.varint(u64::from(index))?;
            value.serialize(self)
        }
        #[inline]
        fn serialize_seq(self, len: Option<usize>) -> std::result::Result<Self, GaveUp> {
            self.varint(len.ok_or(GaveUp)? as u64)?;
            Ok(self)
        }
        #[inline]
        fn serialize_tuple(self, _: usize) -> std::result::Result<Self, GaveUp> {
            Ok(self)
        }
        #[inline]
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self, GaveUp> {
            Ok(self)
        }
        #[inline]
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            index: u32,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self, GaveUp> {
            self.varint(u64::from(index))?;
            Ok(self)
        }
        #[inline]
        fn serialize_map(self, len: Option<usize>) -> std::result::Result<Self, GaveUp> {
            self.varint(len.ok_or(GaveUp)? as u64)?;
            Ok(self)
        }
        #[inline]
        fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Self, GaveUp> {
            Ok(self)
        }
        #[inline]
        fn serialize_struct_variant(
            self,
            _: &'static str,
            index: u32,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self, GaveUp> {
            self.varint(u64::from(index))?;
            Ok(self)
        }
        fn collect_str<T: ?Sized + std::fmt::Display>(self, _: &T) -> Result {
            Err(GaveUp)
        }
    }

    /// Every compound is its elements in order, with nothing around them.
    macro_rules! elements {
        ($($trait:ident :: $method:ident),*) => {$(
            impl ser::$trait for &mut Writer<'_> {
                type Ok = ();
                type Error = GaveUp;
                #[inline]
                fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
                    value.serialize(&mut **self)
                }
                #[inline]
                fn end(self) -> Result {
                    Ok(())
                }
            }
        )*};
    }
    elements!(
        SerializeSeq::serialize_element,
        SerializeTuple::serialize_element,
        SerializeTupleStruct::serialize_field,
        SerializeTupleVariant::serialize_field
    );

    macro_rules! fields {
        ($($trait:ident),*) => {$(
            impl ser::$trait for &mut Writer<'_> {
                type Ok = ();
                type Error = GaveUp;
                #[inline]
                fn serialize_field<T: ?Sized + Serialize>(
                    &mut self,
                    _: &'static str,
                    value: &T,
                ) -> Result {
                    value.serialize(&mut **self)
                }
                #[inline]
                fn end(self) -> Result {
                    Ok(())
                }
            }
        )*};
    }
    fields!(SerializeStruct, SerializeStructVariant);

    impl ser::SerializeMap for &mut Writer<'_> {
        type Ok = ();
        type Error = GaveUp;
        #[inline]
        fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
            key.serialize(&mut **self)
        }
        #[inline]
        fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
            value.serialize(&mut **self)
        }
        #[inline]
        fn end(self) -> Result {
            Ok(())
        }
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
/// Appends `value` as postcard's LEB128 varint.
pub(crate) fn push_varint(bytes: &mut Vec<u8>, mut value: u64) {
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

    /// The inline writer must produce postcard's bytes exactly, and fall back to postcard
    /// (same bytes, heap or error) for whatever it does not handle.
    #[test]
    #[allow(clippy::unwrap_used, reason = "tests fail loudly")]
    fn inline_writer_matches_postcard() {
        use std::collections::BTreeMap;

        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(i32);
        #[derive(Serialize)]
        struct Pair(u16, i16);
        #[derive(Serialize)]
        struct Fields<'a> {
            id: u64,
            word: &'a str,
            flag: Option<bool>,
        }
        #[derive(Serialize)]
        enum Shape {
            Empty,
            Round(f32),
            Rect(u8, i8),
            Named { side: i64 },
        }

        fn check<K: Serialize + ?Sized>(key: &K) {
            let expected = postcard::to_stdvec(key).unwrap();
            let got = KeyBuf::encode(key).unwrap();
            assert_eq!(got.as_bytes(), expected.as_slice());
            assert_eq!(got.is_inline(), expected.len() <= KeyBuf::INLINE);
            let again = KeyBuf::encode(key).unwrap();
            assert_eq!(got, again);
        }

        for value in [
            0_u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            check(&value);
            check(&(&value,));
            check(&(value, value, value));
            #[allow(
                clippy::cast_possible_wrap,
                reason = "every bit pattern is a test case"
            )]
            let signed = value as i64;
            check(&signed);
            check(&(-signed));
            check(&u128::from(value));
            check(&(u128::from(value) << 64 | 7));
            check(&(-i128::from(signed) * 3));
        }
        for value in [i16::MIN, -1, 0, 1, i16::MAX] {
            check(&value);
            check(&i32::from(value));
            check(&u16::from_ne_bytes(value.to_ne_bytes()));
            check(&u32::from(u16::from_ne_bytes(value.to_ne_bytes())));
        }
        check(&(1_i8, -1_i8, 255_u8, true, false));
        check(&(1.5_f64, -0.0_f32, f64::NAN));
        check(&('a', 'é', '😀'));
        check("");
        check("word");
        check(&"x".repeat(29));
        check(&"x".repeat(30));
        check(&"x".repeat(200));
        check(&[1_u8, 2, 3][..]);
        check(&vec![7_u32; 40]);
        check(&(Some(3_u8), None::<u64>, ()));
        check(&(Unit, Newtype(-5), Pair(1, -1)));
        check(&Fields {
            id: 9,
            word: "hi",
            flag: Some(true),
        });
        check(&[
            Shape::Empty,
            Shape::Round(2.0),
            Shape::Rect(1, -1),
            Shape::Named { side: -3 },
        ]);
        check(&BTreeMap::from([(1_u8, "a"), (2, "b")]));
        // 29 bytes of payload after a one-byte prefix: exactly INLINE, then one over.
        check(&(1_u8, [0_u8; 29]));
        check(&(1_u8, [0_u8; 30]));
        // `collect_str` (via `Display`-based `Serialize`) goes through postcard.
        check(&std::net::Ipv4Addr::new(127, 0, 0, 1));
        check(&std::path::Path::new("a/b"));
        // A sequence of unknown length is postcard's error, not a wrong key.
        struct Unsized;
        impl Serialize for Unsized {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                let mut seq = s.serialize_seq(None)?;
                seq.serialize_element(&1_u8)?;
                seq.end()
            }
        }
        assert!(KeyBuf::encode(&Unsized).is_err());
        assert!(key_bytes(&Unsized).is_err());
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
