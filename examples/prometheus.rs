//! Every cache's counters on a Prometheus `/metrics` page, and the spans of a miss:
//! `cargo run --example prometheus` prints one scrape and the span tree of the calls;
//! `cargo run --example prometheus -- --serve 127.0.0.1:9000` keeps serving
//! `http://127.0.0.1:9000/metrics`.
//!
//! The exporter is `metrics-exporter-prometheus` (its recorder and text rendering; the
//! tiny HTTP server here is std's, so the example needs no async runtime). Any other
//! `metrics` exporter works the same way: install it, then call
//! [`twat_cache::metrics::publish`] before a scrape or run
//! [`twat_cache::metrics::publish_every`].
//!
//! Persistent caches write under `$TWAT_CACHE_DIR`; when it is unset the example re-runs
//! itself with `TWAT_CACHE_DIR=<system temp dir>/twat_cache_prometheus`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints what it shows"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::fmt::format::FmtSpan;
use twat_cache::{bcache, mcache};

#[mcache(maxsize = 100, name = "fib")]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[bcache(name = "word_count")]
fn word_count(text: String) -> usize {
    tracing::info!(chars = text.len(), "counting words");
    text.split_whitespace().count()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    twat_cache_examples::rerun_with_cache_dir(&std::env::temp_dir().join("twat_cache_prometheus"))?;

    // Spans: each miss runs inside `twat_cache.miss{cache=…}` (debug); engine I/O and
    // Redis round trips have their own (trace: `RUST_LOG=twat_cache=trace`). Closing
    // events show the tree with its timings.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("twat_cache=debug,prometheus=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_writer(std::io::stderr)
        .init();

    let handle = PrometheusBuilder::new().install_recorder()?;

    println!("fib(3) = {}", fib(3));
    println!("fib(3) = {} (a hit: no span)", fib(3));
    for text in [
        "to be or not to be",
        "to be or not to be",
        "that is the question",
    ] {
        println!("word_count({text:?}) = {}", word_count(text.to_owned()));
    }

    let serve = std::env::args().skip_while(|arg| arg != "--serve").nth(1);
    match serve {
        Some(address) => serve_metrics(&address, &handle),
        None => {
            twat_cache::metrics::publish();
            print!("{}", handle.render());
            Ok(())
        }
    }
}

/// Answers every request on `address` with a fresh scrape (until the process is killed).
fn serve_metrics(
    address: &str,
    handle: &PrometheusHandle,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(address)?;
    eprintln!("serving http://{}/metrics", listener.local_addr()?);
    for stream in listener.incoming() {
        let mut stream = stream?;
        // Read the request head; every path answers with the metrics.
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        twat_cache::metrics::publish();
        let body = handle.render();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )?;
    }
    Ok(())
}
