use twat_cache::mcache;

#[mcache]
async fn fetch(url: &str) -> String {
    url.to_owned()
}

fn main() {}
