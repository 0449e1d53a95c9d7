//! The key layout in Redis.
//!
//! ```text
//! twat_cache:<cache name>:<version>:<hex digest of the key bytes>        an entry
//! twat_cache:<cache name>:<version>:lease:<hex digest of the key bytes>  its lease
//! twat_cache:inval:<cache name>                                          the front's channel
//! ```
//!
//! The digest is core's stable [`Digest`] (BLAKE3 when `secure`, xxh3-128 otherwise),
//! so every process and machine computes the same Redis key for the same arguments, and
//! the arguments themselves never appear in Redis.

use twat_cache_core::{Digest, DigestAlgorithm};

/// Builds the Redis keys of one cache.
#[derive(Debug, Clone)]
pub(crate) struct KeyLayout {
    prefix: String,
    lease_prefix: String,
    pattern: String,
    channel: String,
    algorithm: DigestAlgorithm,
}

impl KeyLayout {
    pub(crate) fn new(name: &str, version: u32, secure: bool) -> Self {
        let prefix = format!("twat_cache:{name}:{version}:");
        Self {
            lease_prefix: format!("{prefix}lease:"),
            pattern: format!("{}*", glob_escape(&prefix)),
            channel: format!("twat_cache:inval:{name}"),
            prefix,
            algorithm: DigestAlgorithm::for_security(secure),
        }
    }

    /// The prefix every key of this cache starts with.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The `SCAN ... MATCH` pattern of this cache's keys (the name glob-escaped).
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The pub/sub channel of front invalidations.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// The Redis key of the entry under `key_bytes`.
    pub(crate) fn entry_key(&self, key_bytes: &[u8]) -> String {
        let mut key = self.prefix.clone();
        push_hex(&mut key, Digest::of(key_bytes, self.algorithm).as_bytes());
        key
    }

    /// The Redis key of the lease on the entry under `key_bytes`.
    pub(crate) fn lease_key(&self, key_bytes: &[u8]) -> String {
        let mut key = self.lease_prefix.clone();
        push_hex(&mut key, Digest::of(key_bytes, self.algorithm).as_bytes());
        key
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// Escapes the glob characters of `SCAN MATCH` (`* ? [ ] \`).
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_documented_form() {
        let layout = KeyLayout::new("users", 3, true);
        let key = layout.entry_key(b"abc");
        let digest = Digest::of(b"abc", DigestAlgorithm::Blake3).to_hex();
        assert_eq!(key, format!("twat_cache:users:3:{digest}"));
        assert_eq!(
            layout.lease_key(b"abc"),
            format!("twat_cache:users:3:lease:{digest}")
        );
        assert_eq!(layout.channel(), "twat_cache:inval:users");
        let fast = KeyLayout::new("users", 3, false).entry_key(b"abc");
        assert_eq!(fast.len(), "twat_cache:users:3:".len() + 32);
    }

    #[test]
    fn pattern_escapes_glob_characters() {
        let layout = KeyLayout::new("a*b?[c]\\", 0, true);
        assert_eq!(layout.pattern(), "twat_cache:a\\*b\\?\\[c\\]\\\\:0:*");
    }
}
