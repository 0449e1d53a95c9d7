//! [`Context`]: what every subcommand is given (the root, the output format, whether a
//! person is at the terminal), and [`Outcome`], what it reports back.

use crate::location::CacheRoot;
use crate::output::Format;

/// What every subcommand works with.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// The cache root.
    pub(crate) root: CacheRoot,
    /// Table or JSON.
    pub(crate) format: Format,
    /// Whether stdin is a terminal (a person can answer a question).
    pub(crate) interactive: bool,
}

/// How a subcommand ended, when it ended normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything looked at is sound, or the command did what it was asked: exit 0.
    Sound,
    /// Problems were found or some work could not be done: exit 1.
    Problems,
}
