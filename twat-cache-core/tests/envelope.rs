//! Decoding stored bytes never panics: garbage, truncation and wrong versions are errors.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use proptest::prelude::*;
use twat_cache_core::envelope::{self, FORMAT_VERSION, Flags, HEADER_LEN, Header, MAGIC};
use twat_cache_core::{DecodeError, decode_value};

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = envelope::open(&bytes);
        let _ = envelope::open_value::<String>(&bytes);
        let _ = envelope::open_value::<Vec<(u64, f64)>>(&bytes);
        let _ = decode_value::<Option<Vec<String>>>(&bytes);
    }

    #[test]
    fn random_payload_behind_a_valid_header_never_panics(
        payload in proptest::collection::vec(any::<u8>(), 0..128),
        expires_at in any::<u64>(),
    ) {
        let mut bytes = vec![MAGIC, FORMAT_VERSION, 0];
        bytes.extend_from_slice(&expires_at.to_le_bytes());
        bytes.extend_from_slice(&payload);
        let _ = envelope::open_value::<std::collections::BTreeMap<String, Vec<u8>>>(&bytes);
    }

    #[test]
    fn values_round_trip(value in any::<(u64, String, Vec<i32>, Option<bool>)>(), ttl_ms in 1_u64..10_000_000) {
        let header = Header::new(Flags::NONE, Some(std::time::Duration::from_millis(ttl_ms)));
        let sealed = envelope::seal_value(header, &value).unwrap();
        let (back_header, back) = envelope::open_value::<(u64, String, Vec<i32>, Option<bool>)>(&sealed).unwrap();
        prop_assert_eq!(back_header, header);
        prop_assert_eq!(back, value);
    }

    #[test]
    fn every_truncation_is_an_error(value in any::<(u64, String)>(), cut in 0_usize..64) {
        let sealed = envelope::seal_value(Header::new(Flags::NONE, None), &value).unwrap();
        let cut = cut.min(sealed.len().saturating_sub(1));
        prop_assert!(envelope::open_value::<(u64, String)>(&sealed[..cut]).is_err());
    }
}

#[test]
fn wrong_version_is_reported() {
    let mut sealed = envelope::seal_value(Header::new(Flags::NONE, None), &1_u8).unwrap();
    sealed[1] = FORMAT_VERSION + 1;
    assert_eq!(
        envelope::open(&sealed).unwrap_err(),
        DecodeError::WrongVersion {
            found: FORMAT_VERSION + 1,
            expected: FORMAT_VERSION
        }
    );
}

#[test]
fn changed_type_is_an_error_not_a_wrong_value() {
    let sealed = envelope::seal_value(Header::new(Flags::NONE, None), &(1_u32, 2_u32)).unwrap();
    // A u32 reads the first varint and leaves the second over: refused.
    assert!(envelope::open_value::<u32>(&sealed).is_err());
    // ...and three u32s run out of bytes: refused.
    assert!(envelope::open_value::<(u32, u32, u32)>(&sealed).is_err());
    assert_eq!(sealed.len(), HEADER_LEN + 2);
}

#[test]
fn compressed_payloads_are_not_decoded_as_plain_postcard() {
    let sealed = envelope::seal(Header::new(Flags::COMPRESSED, None), &[1]);
    assert!(matches!(
        envelope::open_value::<u8>(&sealed),
        Err(DecodeError::Payload { .. })
    ));
}
