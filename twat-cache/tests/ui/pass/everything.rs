use serde::Serialize;
use twat_cache::{mcache, ucache};

#[derive(Serialize)]
struct Query<'a> {
    term: &'a str,
    limit: usize,
}

/// Documented, public, with attributes.
#[mcache(maxsize = 128, ttl = 60, policy = "fifo", name = "pass::search")]
#[must_use]
pub fn search(query: &Query<'_>, weights: &[f64], exact: bool) -> Vec<String> {
    let _ = (weights, exact);
    vec![query.term.to_owned(); query.limit]
}

#[mcache(ttl = 0.25)]
fn quick(x: f64) -> f64 {
    x * 2.0
}

#[ucache(ttl = "1h 30m")]
fn universal(a: i64, b: f64, c: &str) -> String {
    format!("{a}{b}{c}")
}

struct Service;

impl Service {
    #[mcache(skip(self))]
    fn call(&self, id: u32) -> Result<u32, std::num::TryFromIntError> {
        u8::try_from(id).map(u32::from)
    }
}

fn main() {
    let query = Query { term: "x", limit: 2 };
    assert_eq!(search(&query, &[1.0], true).len(), 2);
    assert_eq!(quick(1.0), 2.0);
    assert_eq!(universal(1, 2.5, "c"), "12.5c");
    assert_eq!(Service.call(3), Ok(3));
}
