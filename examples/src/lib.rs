//! Runnable examples of twat-cache; see `tour.rs` (`cargo run --release --example tour`).
