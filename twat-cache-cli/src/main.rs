//! The `twat-cache` command; everything it does lives in the `twat_cache_cli` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    twat_cache_cli::run(std::env::args_os(), &mut std::io::stdout().lock())
}
