//! The controls from the facade: caches bounded by bytes (`maxsize = "64 MiB"` with
//! `Weigh`, or `weigher = f`) on `#[mcache]` and `#[acache]`, and `CacheOptions` on
//! `MemoryCache`/`AsyncCache` through the facade's re-exports.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use twat_cache::{
    CacheConfig, CacheOptions, MemoryCache, RemovalCause, Weigh, get_stats, mcache, weigh_entry,
};

#[derive(Clone)]
struct Page {
    title: String,
    body: Vec<u8>,
}

impl Weigh for Page {
    fn weigh(&self) -> usize {
        self.title.weigh() + self.body.weigh()
    }
}

/// 4 KiB of pages of 1 KiB bodies: about three fit.
#[mcache(maxsize = "4 KiB", name = "controls::render")]
fn render(id: u64) -> Page {
    Page {
        title: format!("page {id}"),
        body: vec![0; 1024],
    }
}

fn body_bytes(page: &[u8]) -> usize {
    page.len()
}

#[mcache(maxsize = 100, weigher = body_bytes, name = "controls::blob")]
fn blob(size: usize) -> Vec<u8> {
    vec![7; size]
}

#[test]
fn size_strings_bound_mcache_by_bytes() {
    for id in 0..10 {
        assert_eq!(render(id).body.len(), 1024);
    }
    let stats = get_stats(Some("controls::render")).unwrap();
    assert_eq!(stats.maxsize, Some(4096));
    assert!(stats.weight <= 4096, "{stats:?}");
    assert!(stats.weight > 3 * 1024, "{stats:?}");
    assert_eq!(stats.size, 3);
    assert_eq!(stats.evictions, 7);
}

#[test]
fn a_weigher_function_bounds_mcache_in_its_unit() {
    // key: one usize (8) plus the weigher's answer
    blob(40); // 48
    blob(40); // hit
    blob(30); // 38: 86 in all
    blob(20); // 28: over 100, the least recently used (40) leaves
    let stats = get_stats(Some("controls::blob")).unwrap();
    assert_eq!(
        (stats.hits, stats.weight, stats.maxsize),
        (1, 66, Some(100))
    );
    assert_eq!(blob(200).len(), 200, "too heavy: returned, not stored");
    let stats = get_stats(Some("controls::blob")).unwrap();
    assert_eq!((stats.weight, stats.evictions), (66, 2));
}

#[cfg(feature = "async")]
mod asynchronous {
    use twat_cache::{acache, get_stats};

    #[acache(maxsize = "1 KiB", name = "controls::fetch")]
    async fn fetch(url: String) -> String {
        "x".repeat(300 + url.len())
    }

    #[tokio::test]
    async fn size_strings_bound_acache_by_bytes() {
        for n in 0..6 {
            fetch(format!("https://example.com/{n}")).await;
        }
        let stats = get_stats(Some("controls::fetch")).unwrap();
        assert_eq!(stats.maxsize, Some(1024));
        assert!(stats.weight <= 1024 && stats.weight > 600, "{stats:?}");
        assert_eq!(stats.size + stats.evictions, 6);
    }
}

#[test]
fn options_reach_the_engines_through_the_facade() {
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&heard);
    let cache: MemoryCache<u64, String> = MemoryCache::with_options(
        &CacheConfig::builder().maxsize(100).build().unwrap(),
        CacheOptions::new()
            .weigher(weigh_entry)
            .on_evict(move |key, _, cause| log.lock().unwrap().push((key, cause))),
    );
    cache.insert(1, "a".repeat(50));
    cache.insert(2, "b".repeat(50));
    assert_eq!(*heard.lock().unwrap(), [(1, RemovalCause::Size)]);
}

/// `CacheContext::invalidate_if` removes the entries whose keys it picks, keeps keys of
/// other types and other caches' keys.
#[test]
fn context_invalidates_by_key() {
    use twat_cache::CacheContext;

    let users = CacheContext::new(
        CacheConfig::builder()
            .name("controls::users")
            .build()
            .unwrap(),
    )
    .unwrap();
    for (id, name) in [(1_u64, "ann"), (2, "bob"), (3, "cyd")] {
        users.set(&id, &name).unwrap();
    }
    users.set(&"not a number", &"kept").unwrap();
    assert_eq!(users.invalidate_if(|id: &u64| id % 2 == 1).unwrap(), 2);
    assert_eq!(users.get::<_, String>(&1_u64).unwrap(), None);
    assert_eq!(
        users.get::<_, String>(&2_u64).unwrap().as_deref(),
        Some("bob")
    );
    assert_eq!(
        users.get::<_, String>(&"not a number").unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(users.invalidate_if(|_: &String| true).unwrap(), 1);
    assert_eq!(users.stats().size, 1);
}

/// `#[derive(Weigh)]`: the value's size plus what each field owns, for structs (generic
/// ones too) and enums; usable as the value of a byte-bounded `#[mcache]`.
#[test]
fn derived_weights_count_each_fields_heap() {
    #[derive(Clone, Weigh)]
    struct Row<T> {
        id: u64,
        name: String,
        tags: Vec<T>,
    }

    #[derive(Clone, Weigh)]
    enum Answer {
        Empty,
        Text(String),
        Rows { rows: Vec<Row<u8>> },
    }

    let row = Row {
        id: 1,
        name: "abc".to_owned(),
        tags: vec![1_u16, 2],
    };
    assert_eq!(row.weigh(), std::mem::size_of::<Row<u16>>() + 3 + 4);
    let size = std::mem::size_of::<Answer>();
    assert_eq!(Answer::Empty.weigh(), size);
    assert_eq!(Answer::Text("hello".into()).weigh(), size + 5);
    let rows = Answer::Rows {
        rows: vec![Row {
            id: 2,
            name: String::new(),
            tags: vec![7_u8],
        }],
    };
    assert_eq!(rows.weigh(), size + std::mem::size_of::<Row<u8>>() + 1);

    #[mcache(maxsize = "2 KiB", name = "controls::answer")]
    fn answer(n: u64) -> Answer {
        Answer::Text("x".repeat(usize::try_from(n).unwrap()))
    }
    for n in [500, 600, 700, 800] {
        answer(n);
    }
    let stats = get_stats(Some("controls::answer")).unwrap();
    assert!(stats.weight <= 2048 && stats.evictions >= 1, "{stats:?}");
}
