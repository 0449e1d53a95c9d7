#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod counter;
mod flights;
#[cfg(feature = "model")]
#[cfg_attr(docsrs, doc(cfg(feature = "model")))]
pub mod model;
mod options;
mod order;
mod policy_store;
mod sharded;
mod sketch;
mod store;
mod striped;
mod table;
mod tinylfu;

pub use flights::{Join, Ticket};
pub use options::{CacheOptions, RemovalCause};
pub use policy_store::PolicyStore;
pub use sharded::{EXACT_ORDER_MAX, Seen};
