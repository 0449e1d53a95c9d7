use twat_cache::mcache;

#[mcache(maxsize = "lots", ttl = "soon", policy = "mru", name = 5)]
fn f(x: u64) -> u64 {
    x
}

#[mcache(ttl = -1, cache_errors = "yes")]
fn g(x: u64) -> u64 {
    x
}

fn main() {}
