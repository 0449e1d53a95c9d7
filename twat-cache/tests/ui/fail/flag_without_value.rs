use twat_cache::mcache;

#[mcache(cache_errors)]
fn parse(text: &str) -> Result<u32, String> {
    text.parse().map_err(|_| text.to_owned())
}

fn main() {}
