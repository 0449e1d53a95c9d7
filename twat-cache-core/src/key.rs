//! Stable key bytes and file-name digests.
//!
//! # Why this layout
//!
//! Persistent engines must find an entry written by another process, or by the same
//! program after a restart, so keys can never come from a process-seeded hash (ahash and
//! std's `RandomState` change every run). A key is therefore the postcard encoding of the
//! arguments, which is stable across processes, platforms and releases of postcard 1.x.
//!
//! - [`bytes`]: the key bytes themselves ([`key_bytes`], and [`KeyBuf`], which keeps short
//!   keys inline);
//! - [`inline`]: the serializer that writes postcard's exact bytes into [`KeyBuf`]'s inline
//!   buffer, and postcard's varint for the other modules that lay out bytes by hand;
//! - [`namespace`]: the per-cache prefix of persistent keys ([`Namespace`],
//!   [`type_fingerprint`]);
//! - [`digest`]: fixed-length file names from key bytes ([`Digest`], [`DigestAlgorithm`]).
//!
//! The modules only point downwards: `bytes` and `namespace` use `inline`; `digest` uses
//! none of them.

mod bytes;
mod digest;
pub(crate) mod inline;
mod namespace;

pub use bytes::{KeyBuf, key_bytes};
pub use digest::{Digest, DigestAlgorithm};
pub use namespace::{Namespace, type_fingerprint};
