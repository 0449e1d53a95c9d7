use twat_cache::mcache;

fn bytes(value: &String) -> u32 {
    value.len() as u32
}

// a weigher needs a bound
#[mcache(weigher = bytes)]
fn f(x: u64) -> String {
    x.to_string()
}

// a weigher is a function's path
#[mcache(maxsize = 100, weigher = |v: &String| v.len())]
fn g(x: u64) -> String {
    x.to_string()
}

fn main() {}
