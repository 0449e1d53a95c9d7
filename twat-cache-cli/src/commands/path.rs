//! `twat-cache path [NAME]`: where the cache root, or the cache NAME, lives.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::output::{Format, write_json};

/// Arguments of `twat-cache path`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PathArgs {
    /// A cache name (`my_crate::reports`) or folder name; without it, the root.
    pub(crate) name: Option<String>,
}

/// The JSON form: `{"root", "name", "path", "exists"}`.
#[derive(Debug, Serialize)]
struct Located<'a> {
    root: &'a std::path::Path,
    name: Option<&'a str>,
    path: PathBuf,
    exists: bool,
}

/// Prints the path (whether or not it exists yet).
///
/// # Errors
///
/// [`CliError::Output`] when stdout cannot be written.
pub(crate) fn run(
    args: &PathArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let root = context.root.path();
    let path = args
        .name
        .as_deref()
        .map_or_else(|| root.to_path_buf(), |name| context.root.locate(name));
    match context.format {
        Format::Table => writeln!(out, "{}", path.display())?,
        Format::Json => write_json(
            out,
            &Located {
                root,
                name: args.name.as_deref(),
                exists: std::fs::symlink_metadata(&path).is_ok(),
                path,
            },
        )?,
    }
    Ok(Outcome::Sound)
}
