use twat_cache::mcache;

#[mcache(max_size = 10, colour = "red")]
fn f(x: u64) -> u64 {
    x
}

fn main() {}
