use twat_cache::mcache;

#[mcache]
struct Config {
    size: usize,
}

fn main() {}
