use twat_cache::ucache;

#[ucache(folder = "../outside")]
fn report(id: u64) -> u64 {
    id
}

fn main() {}
