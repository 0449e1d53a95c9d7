//! The command line: [`Cli`] (parsed by `clap`), [`run`] that dispatches to the
//! subcommand and turns its outcome into the exit status.

use std::ffi::OsString;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{clear, list, path, purge, stats, verify};
use crate::context::{Context, Outcome};
use crate::error::{CliError, EXIT_PROBLEMS, EXIT_SOUND, EXIT_USAGE};
use crate::location::CacheRoot;
use crate::output::Format;

/// See, verify and clean the persistent twat-cache caches on this machine.
///
/// Exit status: 0 sound, 1 problems found (or the work failed), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "twat-cache", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The cache root (default: $TWAT_CACHE_DIR, else the platform cache dir + twat_cache).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print where the cache root, or the cache NAME, lives.
    Path(path::PathArgs),
    /// One row per cache folder: engine, entries, size, oldest/newest, in use (or --redis).
    List(list::ListArgs),
    /// One cache in detail.
    Stats(stats::StatsArgs),
    /// Read every entry; report corrupt and expired ones (--repair removes them).
    Verify(verify::VerifyArgs),
    /// Remove the entries that are old, expired or large.
    Purge(purge::PurgeArgs),
    /// Remove every entry of the named caches (or --all).
    Clear(clear::ClearArgs),
}

/// Parses `args` (the program name first), runs the subcommand with output to `out`
/// and errors to stderr, and returns the exit status: 0 sound, 1 problems found or the
/// work failed, 2 bad usage (one line on stderr).
pub fn run<I, T>(args: I, out: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return usage_or_help(&err),
    };
    let result = CacheRoot::resolve(cli.root.as_deref()).and_then(|root| {
        let context = Context {
            root,
            format: if cli.json {
                Format::Json
            } else {
                Format::Table
            },
            interactive: std::io::stdin().is_terminal(),
        };
        dispatch(&cli.command, &context, out)
    });
    let _ = out.flush();
    match result {
        Ok(Outcome::Sound) => ExitCode::from(EXIT_SOUND),
        Ok(Outcome::Problems) => ExitCode::from(EXIT_PROBLEMS),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "twat-cache: error: {err}");
            err.exit_code()
        }
    }
}

fn dispatch(
    command: &Command,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    match command {
        Command::Path(args) => path::run(args, context, out),
        Command::List(args) => list::run(args, context, out),
        Command::Stats(args) => stats::run(args, context, out),
        Command::Verify(args) => verify::run(args, context, out),
        Command::Purge(args) => purge::run(args, context, out),
        Command::Clear(args) => clear::run(args, context, out),
    }
}

/// `--help` and `--version` print in full (exit 0); a usage error prints its first line
/// only, with a pointer to `--help` (exit 2).
fn usage_or_help(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(EXIT_USAGE)
        } else {
            ExitCode::from(EXIT_SOUND)
        };
    }
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("bad usage")
        .trim_start_matches("error: ");
    let _ = writeln!(
        std::io::stderr(),
        "twat-cache: error: {first} (see twat-cache --help)"
    );
    ExitCode::from(EXIT_USAGE)
}
