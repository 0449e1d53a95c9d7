//! One module per subcommand, each with its arguments (`clap::Args`) and a `run`.

pub(crate) mod clear;
pub(crate) mod list;
pub(crate) mod path;
pub(crate) mod purge;
pub(crate) mod stats;
pub(crate) mod verify;
