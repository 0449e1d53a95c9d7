//! Optional signed values: with a secret, every stored envelope carries a keyed BLAKE3
//! MAC over the Redis key and the envelope, so entries forged by someone who can write to
//! the database (but does not know the secret) or copied from another key are refused
//! as misses.
//!
//! Keyed BLAKE3 is a MAC in its own right (a PRF under the key), so no HMAC construction
//! is needed; the key is derived from the secret with BLAKE3's `derive_key` mode.
//! Wire form: `envelope ‖ mac(32 bytes)`, where
//! `mac = blake3_keyed(key, len(redis key) as u64 LE ‖ redis key ‖ envelope)`.

use twat_cache_core::DecodeError;

/// Bytes of the MAC appended to every signed value.
pub(crate) const MAC_LEN: usize = 32;

const CONTEXT: &str = "twat-cache-redis 2026-11 value signature v1";

/// A signing key derived from a secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// Derives the signing key from `secret` (any length; use at least 16 random bytes).
    #[must_use]
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(blake3::derive_key(CONTEXT, secret))
    }

    fn mac(&self, redis_key: &str, envelope: &[u8]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(&(redis_key.len() as u64).to_le_bytes());
        hasher.update(redis_key.as_bytes());
        hasher.update(envelope);
        hasher.finalize()
    }

    /// `envelope` with its MAC appended: the bytes the engine stores under `redis_key`
    /// when values are signed (read back with [`read_stored`](crate::read_stored)).
    #[must_use]
    pub fn sign(&self, redis_key: &str, envelope: &[u8]) -> Vec<u8> {
        let mut signed = Vec::with_capacity(envelope.len() + MAC_LEN);
        signed.extend_from_slice(envelope);
        signed.extend_from_slice(self.mac(redis_key, envelope).as_bytes());
        signed
    }

    /// The envelope of a signed value, if its MAC is right (compared in constant time).
    pub(crate) fn verify(
        &self,
        redis_key: &str,
        mut stored: Vec<u8>,
    ) -> Result<Vec<u8>, DecodeError> {
        let Some(split) = stored.len().checked_sub(MAC_LEN) else {
            return Err(DecodeError::payload_message(
                "stored value is too short to carry a signature",
            ));
        };
        let (envelope, mac) = stored.split_at(split);
        let mut expected = [0_u8; MAC_LEN];
        expected.copy_from_slice(mac);
        // `blake3::Hash`'s equality is constant-time.
        if self.mac(redis_key, envelope) != blake3::Hash::from(expected) {
            return Err(DecodeError::payload_message(
                "stored value's signature does not match (forged, copied from another key, \
                 or written with another secret)",
            ));
        }
        stored.truncate(split);
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_verify_and_tampering_is_refused() {
        let key = SigningKey::from_secret(b"a long enough secret");
        let signed = key.sign("twat_cache:a:0:00", b"envelope");
        assert_eq!(
            key.verify("twat_cache:a:0:00", signed.clone()).unwrap(),
            b"envelope"
        );
        assert!(key.verify("twat_cache:a:0:01", signed.clone()).is_err());
        let mut tampered = signed.clone();
        tampered[0] ^= 1;
        assert!(key.verify("twat_cache:a:0:00", tampered).is_err());
        let other = SigningKey::from_secret(b"another secret");
        assert!(other.verify("twat_cache:a:0:00", signed).is_err());
        assert!(key.verify("k", vec![0; 5]).is_err());
        assert_eq!(format!("{key:?}"), "SigningKey(***)");
    }
}
