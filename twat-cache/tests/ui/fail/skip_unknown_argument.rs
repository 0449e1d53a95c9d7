use twat_cache::mcache;

#[mcache(skip(conn))]
fn lookup(connection: &str, id: u64) -> u64 {
    connection.len() as u64 + id
}

fn main() {}
