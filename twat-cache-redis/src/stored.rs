//! Reading a value as it is stored in Redis, for tools and fuzzers: the same checks a
//! lookup makes (the signature when values are signed, then core's envelope and the
//! flags this engine writes), as one public function.

use twat_cache_core::DecodeError;
use twat_cache_core::envelope;

use crate::cache::{Checked, check_envelope};
use crate::signing::SigningKey;

/// What a stored value holds once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// A live entry: the payload the engine would decode, and its expiry (Unix
    /// milliseconds), if any.
    Live {
        /// The encoded value (postcard bytes).
        payload: Vec<u8>,
        /// When it expires, in Unix milliseconds; `None` for never.
        expires_at: Option<u64>,
    },
    /// A well-formed entry past its expiry: a miss.
    Expired,
}

/// Checks `stored`, the bytes Redis holds under `redis_key`, as a lookup does: with
/// `signing`, the MAC over the key and envelope must match; then the envelope must be
/// one this engine writes. Any bytes at all may arrive here (another program's value,
/// garbage, a forgery): every failure is a [`DecodeError`], never a panic.
///
/// ```
/// use twat_cache_redis::{SigningKey, StoredValue, read_stored};
///
/// let key = SigningKey::from_secret(b"a long enough secret");
/// assert!(read_stored("twat_cache:f:0:00", b"garbage".to_vec(), None).is_err());
/// assert!(read_stored("twat_cache:f:0:00", b"garbage".to_vec(), Some(&key)).is_err());
/// ```
///
/// # Errors
///
/// [`DecodeError`] when the signature does not match, the envelope is truncated or not
/// twat-cache's, or it carries flags the Redis engine does not write.
pub fn read_stored(
    redis_key: &str,
    stored: Vec<u8>,
    signing: Option<&SigningKey>,
) -> Result<StoredValue, DecodeError> {
    let envelope_bytes = match signing {
        Some(signing) => signing.verify(redis_key, stored)?,
        None => stored,
    };
    match check_envelope(&envelope_bytes)? {
        Checked::Expired => Ok(StoredValue::Expired),
        Checked::Live(expires_at) => {
            let (_, payload) = envelope::open(&envelope_bytes)?;
            Ok(StoredValue::Live {
                payload: payload.to_vec(),
                expires_at,
            })
        }
    }
}
