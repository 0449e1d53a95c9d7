//! The rule for a stored entry that no longer decodes: it is a miss.
//!
//! A value written by an older build (the function's return type changed) or bytes
//! garbled on disk must never come back as a wrong value, and must never make the caller
//! fail. So the entry is
//!
//! 1. **removed**, so that the next call stores a fresh value instead of tripping over the
//!    same bytes again;
//! 2. **counted** in [`Stats::errors`](crate::Stats::errors) and **warned about once** per
//!    cache and cause — the caller's `record` does both, typically
//!    [`StatsCounter::error`](crate::StatsCounter::error) or
//!    [`ByteStore::record_error`](crate::ByteStore::record_error);
//! 3. reported as a **miss** (`None`), even when removing it fails: that failure is
//!    counted the same way, and the caller recomputes.
//!
//! Every engine (disk, file) and the facade (`CacheContext`, the persistent memo) apply
//! the rule through [`decode_or_discard`] or, when they decoded by other means,
//! [`discard_undecodable`], so it is written once.

use serde::de::DeserializeOwned;

use crate::codec::decode_value;
use crate::error::{DecodeError, Error};

/// Decodes `payload` as a `V`; when it does not decode, applies the rule of this module
/// ([`discard_undecodable`]) and returns `None`.
///
/// `discard` removes the entry from the engine; `record` counts and warns about an error
/// (called once for the decode error, and once more if `discard` fails). Neither is called
/// when the payload decodes. Hit and miss counting stay with the caller.
///
/// ```
/// use twat_cache_core::{Error, StatsCounter, decode_or_discard, encode_value};
///
/// let counter = StatsCounter::new();
/// let record = |err: &Error| counter.error("example", err);
/// let stored = encode_value(&(1_u8, 2_u8))?;
///
/// let fine: Option<(u8, u8)> = decode_or_discard(&stored, || Ok(()), record);
/// assert_eq!(fine, Some((1, 2)));
///
/// let mut removed = false;
/// let changed: Option<u64> = decode_or_discard(&stored, || { removed = true; Ok(()) }, record);
/// assert_eq!(changed, None);
/// assert!(removed);
/// assert_eq!(counter.errors(), 1);
/// # Ok::<(), Error>(())
/// ```
#[inline]
pub fn decode_or_discard<V: DeserializeOwned, R>(
    payload: &[u8],
    discard: impl FnOnce() -> Result<R, Error>,
    record: impl Fn(&Error),
) -> Option<V> {
    match decode_value::<V>(payload) {
        Ok(value) => Some(value),
        Err(err) => {
            discard_undecodable(err, discard, record);
            None
        }
    }
}

/// Applies the rule of this module to an entry whose bytes failed to decode with
/// `error`: removes it with `discard`, then counts and warns through `record` — the decode
/// error, and the removal's error if there is one. The entry is a miss for the caller
/// either way.
#[cold]
pub fn discard_undecodable<R>(
    error: DecodeError,
    discard: impl FnOnce() -> Result<R, Error>,
    record: impl Fn(&Error),
) {
    let removed = discard();
    record(&Error::Decode(error));
    if let Err(err) = removed {
        record(&err);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::codec::encode_value;
    use crate::stats::StatsCounter;

    #[test]
    fn a_decodable_entry_is_returned_untouched() {
        let stored = encode_value(&vec![1.5_f64, 2.5]).unwrap();
        let discarded = Cell::new(0);
        let recorded = Cell::new(0);
        let value: Option<Vec<f64>> = decode_or_discard(
            &stored,
            || {
                discarded.set(discarded.get() + 1);
                Ok(())
            },
            |_| recorded.set(recorded.get() + 1),
        );
        assert_eq!(value, Some(vec![1.5, 2.5]));
        assert_eq!((discarded.get(), recorded.get()), (0, 0));
    }

    #[test]
    fn an_undecodable_entry_is_removed_counted_and_a_miss() {
        let counter = StatsCounter::new();
        let discarded = Cell::new(0);
        for garbled in [&b""[..], &[0xFF; 3], &encode_value(&"text").unwrap()] {
            let value: Option<(u64, u64)> = decode_or_discard(
                garbled,
                || {
                    discarded.set(discarded.get() + 1);
                    Ok(true)
                },
                |err| counter.error("t", err),
            );
            assert_eq!(value, None);
        }
        assert_eq!(discarded.get(), 3);
        assert_eq!(counter.errors(), 3);
    }

    #[test]
    fn a_failed_removal_is_counted_too_and_still_a_miss() {
        let causes = RefCell::new(Vec::new());
        let value: Option<u64> = decode_or_discard(
            &[0xFF; 12],
            || {
                Err::<(), _>(Error::io(
                    "/cache/entry",
                    std::io::ErrorKind::PermissionDenied.into(),
                ))
            },
            |err| causes.borrow_mut().push(err.cause_label()),
        );
        assert_eq!(value, None);
        assert_eq!(*causes.borrow(), ["decode", "io"]);
    }

    #[test]
    fn discarding_by_hand_follows_the_same_rule() {
        let counter = StatsCounter::new();
        let discarded = Cell::new(false);
        discard_undecodable(
            DecodeError::payload_message("byte buffer length is truncated"),
            || {
                discarded.set(true);
                Ok(())
            },
            |err| counter.error("t", err),
        );
        assert!(discarded.get());
        assert_eq!(counter.errors(), 1);
    }
}
