use twat_cache::mcache;

#[mcache(folder = "reports", maxsize = "512 MiB")]
fn report(id: u64) -> u64 {
    id
}

fn main() {}
