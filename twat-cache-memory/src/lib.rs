#![doc = include_str!("../README.md")]

mod cache;
mod flight;
mod order;
mod store;
mod tiny;

pub use cache::{EXACT_ORDER_MAX, MemoryCache};
