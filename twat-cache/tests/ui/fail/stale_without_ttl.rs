use twat_cache::{bcache, mcache};

#[mcache(stale = "5m")]
fn without_ttl(x: u32) -> u32 {
    x
}

#[bcache(folder = "reports", ttl = 60, stale_if_error = true)]
fn stale_if_error_without_stale(x: u32) -> u32 {
    x
}

#[mcache(ttl = 60, stale = -1)]
fn negative_stale(x: u32) -> u32 {
    x
}

#[mcache(ttl = 60, stale = "soon")]
fn unreadable_stale(x: u32) -> u32 {
    x
}

fn main() {}
