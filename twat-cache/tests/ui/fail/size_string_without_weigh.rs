use twat_cache::mcache;

#[derive(Clone)]
struct Page {
    body: Vec<u8>,
}

// A byte bound needs the value's weight: `Page` does not implement `Weigh`.
#[mcache(maxsize = "64 MiB")]
fn render(id: u64) -> Page {
    Page { body: vec![0; id as usize] }
}

fn main() {
    render(1);
}
