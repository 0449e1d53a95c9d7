#![doc = include_str!("../README.md")]

mod cache;
mod counter;
mod flight;
mod order;
mod store;
mod striped;
mod table;
mod tiny;

pub use cache::{EXACT_ORDER_MAX, MemoryCache};
