#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Signed values: with a secret, entries forged by anyone who can write to the database
//! (or copied from another key, or written with another secret) are misses.

mod common;

use common::{RedisServer, open_with, test_options};
use twat_cache_core::envelope::{Flags, Header, seal_value};

#[test]
fn signed_caches_share_and_refuse_forgeries() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let options = test_options().secret("correct horse battery staple");
    let writer = open_with(&server.url(), "signed", options.clone());
    let reader = open_with(&server.url(), "signed", options);
    writer.set(&"k", &"genuine".to_owned()).unwrap();
    assert_eq!(
        reader.get::<_, String>(&"k").unwrap().as_deref(),
        Some("genuine")
    );

    // A well-formed envelope of the right type, but unsigned: refused and removed.
    let forged = seal_value(Header::new(Flags::NONE, None), "forged").unwrap();
    let mut raw = server.raw();
    let key = reader.redis_key(&"k").unwrap();
    redis::cmd("SET")
        .arg(&key)
        .arg(&forged)
        .query::<()>(&mut raw)
        .unwrap();
    assert_eq!(reader.get::<_, String>(&"k").unwrap(), None);
    let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut raw).unwrap();
    assert!(!exists);
    assert_eq!(reader.stats().errors, 1);

    // A genuine value copied to another key: refused.
    writer.set(&"a", &"for a".to_owned()).unwrap();
    let value: Vec<u8> = redis::cmd("GET")
        .arg(writer.redis_key(&"a").unwrap())
        .query(&mut raw)
        .unwrap();
    redis::cmd("SET")
        .arg(writer.redis_key(&"b").unwrap())
        .arg(&value)
        .query::<()>(&mut raw)
        .unwrap();
    assert_eq!(reader.get::<_, String>(&"b").unwrap(), None);
    assert_eq!(
        reader.get::<_, String>(&"a").unwrap().as_deref(),
        Some("for a")
    );

    // Another secret: a miss. Without a secret, the signed value does not decode either.
    let stranger = open_with(&server.url(), "signed", test_options().secret("other"));
    assert_eq!(stranger.get::<_, String>(&"a").unwrap(), None);
    writer.set(&"a", &"for a".to_owned()).unwrap();
    let unsigned = open_with(&server.url(), "signed", test_options());
    assert_eq!(unsigned.get::<_, String>(&"a").unwrap(), None);
    // The lease path honours signatures too.
    writer.set(&"c", &5_u64).unwrap();
    let got: u64 = reader.get_or_compute_with_lease(&"c", || 0);
    assert_eq!(got, 5);
}

#[test]
fn debug_never_shows_the_secret() {
    let options = test_options().secret("super-secret-value");
    assert!(!format!("{options:?}").contains("super-secret-value"));
}
