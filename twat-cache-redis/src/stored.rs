//! Reading a value as it is stored in Redis, for tools and fuzzers: the same checks a
//! lookup makes (the signature when values are signed, then core's envelope and the
//! flags this engine writes), as one public function.

use twat_cache_core::DecodeError;
use twat_cache_core::envelope::{self, Flags};

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
    let (envelope_bytes, checked) = open_stored(redis_key, stored, signing)?;
    match checked {
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

/// The envelope of a value read from `redis_key` (its signature checked and stripped when
/// values are signed) and what its header says: the one read-side check, shared by
/// lookups, lease polls and [`read_stored`].
pub(crate) fn open_stored(
    redis_key: &str,
    stored: Vec<u8>,
    signing: Option<&SigningKey>,
) -> Result<(Vec<u8>, Checked), DecodeError> {
    let envelope_bytes = match signing {
        Some(signing) => signing.verify(redis_key, stored)?,
        None => stored,
    };
    let checked = check_envelope(&envelope_bytes)?;
    Ok((envelope_bytes, checked))
}

/// What a stored envelope says about itself.
pub(crate) enum Checked {
    /// A live entry, with its expiry in Unix milliseconds.
    Live(Option<u64>),
    /// An entry past its expiry (the server's TTL would remove it soon).
    Expired,
}

/// Checks an envelope read from Redis: any bytes at all may arrive here (another
/// program's value, garbage), so every failure is a [`DecodeError`], never a panic.
fn check_envelope(bytes: &[u8]) -> Result<Checked, DecodeError> {
    let (header, _payload) = envelope::open(bytes)?;
    if header.flags != Flags::NONE {
        return Err(DecodeError::payload_message(format_args!(
            "flags {:#04x} are not written by the Redis engine",
            header.flags.bits()
        )));
    }
    if header.is_expired() {
        return Ok(Checked::Expired);
    }
    Ok(Checked::Live(header.expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use twat_cache_core::decode_value;
    use twat_cache_core::envelope::Header;

    proptest! {
        #[test]
        fn any_bytes_check_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = check_envelope(&bytes);
        }

        #[test]
        fn any_payload_after_a_valid_header_decodes_or_errs(tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let sealed = envelope::seal(Header::new(Flags::NONE, None), &tail);
            prop_assert!(matches!(check_envelope(&sealed), Ok(Checked::Live(None))));
            let _ = decode_value::<(u64, String, Vec<f64>)>(&tail);
        }
    }

    #[test]
    fn foreign_flags_are_refused() {
        let sealed = envelope::seal(Header::new(Flags::COMPRESSED, None), b"x");
        assert!(check_envelope(&sealed).is_err());
        assert!(check_envelope(b"").is_err());
        assert!(check_envelope(b"not an envelope at all").is_err());
    }
}
