use twat_cache::mcache;

#[mcache(key = id, skip(label))]
fn lookup(label: &str, id: u64) -> u64 {
    label.len() as u64 + id
}

fn main() {}
