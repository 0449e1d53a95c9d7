//! The stable key bytes of a value: [`key_bytes`] on the heap, [`KeyBuf`] inline when short.
//!
//! Equal arguments give equal bytes in every process, so the memory engines can hash these
//! bytes (no `Hash`/`Eq` needed on the arguments) and the persistent engines can store them.

use std::fmt;

use serde::Serialize;

use super::inline;
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
    postcard::to_stdvec(key).map_err(Error::unencodable_key)
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
    pub const INLINE: usize = inline::INLINE;

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
            Err(err) => Err(Error::unencodable_key(err)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
