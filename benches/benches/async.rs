//! PLACEHOLDER: the async engine's benchmarks are written by its engine issue and replace this file.
#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]
fn main() {}
