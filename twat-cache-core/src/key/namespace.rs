//! The key space of one persistent cache.
//!
//! The persistent key is `namespace ‖ argument bytes`, where the namespace is the postcard
//! encoding of `(cache name, version)`. Postcard writes strings length-prefixed, so the
//! namespace is self-delimiting: no name is a prefix of another name's keys, and two
//! functions sharing a folder never see each other's entries. Bumping `version` moves a
//! cache to a fresh key space without deleting anything by hand.

use serde::Serialize;

use super::inline::push_varint;
use crate::error::Error;

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
    /// [`Error::Encode`] as for [`key_bytes`](crate::key_bytes).
    pub fn key<K: Serialize + ?Sized>(&self, key: &K) -> Result<Vec<u8>, Error> {
        let buffer = self.prefix.clone();
        postcard::to_extend(key, buffer).map_err(Error::unencodable_key)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_bytes;

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
