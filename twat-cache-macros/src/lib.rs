//! Attribute macros of twat-cache (`#[mcache]`, `#[bcache]`, `#[fcache]`, `#[acache]`, `#[ucache]`) — built by the macros issue; nothing here yet.
