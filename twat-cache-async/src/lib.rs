//! Async memoization engine of twat-cache — built by the async-engine issue; nothing here yet.
