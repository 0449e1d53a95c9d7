//! [`CliError`]: why a command could not do its job, and the exit code that says so.

use std::process::ExitCode;

/// Exit status: everything looked at is sound (or the command did what it was asked).
pub const EXIT_SOUND: u8 = 0;
/// Exit status: problems were found (corrupt or expired entries, a cache in use that had
/// to be changed), or the work failed.
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit status: bad usage (unknown option, bad value, unknown cache, missing `--yes`).
pub const EXIT_USAGE: u8 = 2;

/// Why a command stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line asks for something that cannot be done as asked (an unknown
    /// cache, a bad size or duration, a missing `--yes`): exit status 2.
    #[error("{0}")]
    Usage(String),
    /// The work failed (a folder could not be read or written): exit status 1.
    #[error(transparent)]
    Cache(#[from] twat_cache_core::Error),
    /// The Redis server could not be reached or answered with an error: exit status 1.
    #[error("redis: {0}")]
    Redis(String),
    /// Writing the output failed: exit status 1.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// A usage error with `message`.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// The exit status this error ends the command with.
    #[must_use]
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(EXIT_USAGE),
            Self::Cache(_) | Self::Redis(_) | Self::Output(_) => ExitCode::from(EXIT_PROBLEMS),
        }
    }
}
