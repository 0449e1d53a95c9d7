//! The runtime behind the attribute macros, reached by generated code through
//! [`crate::__private`].
//!
//! Each memoized function owns one `static` of [`MemoryMemo`], [`PersistentMemo`],
//! [`AsyncMemo`] or [`AsyncPersistentMemo`] — or, with a `stale` window, of their
//! `Stale*` counterparts (see `stale`). On the first call the static builds its cache from the configuration
//! the macro wrote, registers it by name in the global registry, and from then on serves
//! calls: key → lookup → hit, or run the body, store, return. Any cache failure (a key
//! that will not encode, an engine that will not open, an I/O or decode error) is counted
//! in `Stats::errors`, warned about once, and the body's own result is returned.

mod async_persistent;
mod asynchronous;
mod bytes;
pub(crate) mod flight;
pub(crate) mod lease;
mod memory;
mod observe;
mod persistent;
mod stale;

pub use async_persistent::AsyncPersistentMemo;
pub use asynchronous::{AsyncMemo, OwnErrors, SharedErrors, TryFlight};
pub use memory::MemoryMemo;
pub use persistent::PersistentMemo;
pub(crate) use stale::PersistentTable as StaleTable;
pub use stale::{StaleAsyncMemo, StaleAsyncPersistentMemo, StaleMemoryMemo, StalePersistentMemo};

use serde::Serialize;
use twat_cache_core::{
    CacheConfig, CacheConfigBuilder, ConfigError, EngineKind, Error, KeyBuf, ManagedCache, Stats,
    StatsCounter, Weigh,
};

/// Encodes the key of one call, or `None` when `TWAT_CACHE_DISABLE` is set (the wrapper
/// then runs the body as a plain call).
#[inline]
pub fn key<K: Serialize + ?Sized>(key: &K) -> Option<Result<KeyBuf, Error>> {
    if twat_cache_core::root::is_disabled() {
        None
    } else {
        Some(KeyBuf::encode(key))
    }
}

/// The key of one call whose key arguments are primitive values (the tuple itself), or
/// `None` when `TWAT_CACHE_DISABLE` is set. It cannot fail (`Infallible`), so the hit path
/// carries no error variant around.
#[inline]
pub fn typed_key<K>(key: K) -> Option<Result<K, std::convert::Infallible>> {
    if twat_cache_core::root::is_disabled() {
        None
    } else {
        Some(Ok(key))
    }
}

/// A weigher's answer as a weight (`u32`, saturating): lets `weigher = f` return `u32`,
/// `u64` or `usize`.
pub trait IntoWeight {
    /// The weight, saturating at `u32::MAX`.
    fn into_weight(self) -> u32;
}

impl IntoWeight for u32 {
    fn into_weight(self) -> u32 {
        self
    }
}

impl IntoWeight for u64 {
    fn into_weight(self) -> u32 {
        u32::try_from(self).unwrap_or(u32::MAX)
    }
}

impl IntoWeight for usize {
    fn into_weight(self) -> u32 {
        u32::try_from(self).unwrap_or(u32::MAX)
    }
}

/// The bytes a cached value takes, per [`Weigh`] (saturating at `u32::MAX`): the value's
/// half of an entry's weight under `maxsize = "64 MiB"`.
#[inline]
pub fn value_weight<V: Weigh + ?Sized>(value: &V) -> u32 {
    value.weigh().into_weight()
}

/// An entry's weight: its key's bytes plus its value's weight, saturating.
#[inline]
pub fn entry_weight(key_bytes: usize, value_weight: u32) -> u32 {
    key_bytes.into_weight().saturating_add(value_weight)
}

/// Lets the wrapper of a `Result`-returning function name the `Ok` type, whatever alias
/// spells the return type (`io::Result<T>`, `anyhow::Result<T>`, …).
pub trait ResultLike {
    /// The success type, the one that is cached.
    type Ok;
    /// The error type.
    type Err;
}

impl<T, E> ResultLike for Result<T, E> {
    type Ok = T;
    type Err = E;
}

/// Sets the engine an attribute named (`engine = "redis"`), when this build has it;
/// otherwise leaves the builder on memory and says so once (the configuration closure
/// runs once per cache). Lets a macro name an engine whose feature may be off without
/// breaking the build.
pub fn engine_named(builder: CacheConfigBuilder, name: &str) -> CacheConfigBuilder {
    match name.parse::<EngineKind>() {
        Ok(engine) if engine_compiled(engine) => builder.engine(engine),
        _ => {
            tracing::warn!(
                engine = name,
                "twat-cache: the {name} engine is not compiled in (enable the `{name}` feature of twat-cache), caching in memory instead"
            );
            builder.engine(EngineKind::Memory)
        }
    }
}

#[allow(
    clippy::match_like_matches_macro,
    reason = "each arm reads its own feature; without `redis` they look like a `matches!`"
)]
const fn engine_compiled(engine: EngineKind) -> bool {
    match engine {
        EngineKind::Memory => true,
        EngineKind::Disk => cfg!(feature = "disk"),
        EngineKind::File => cfg!(feature = "file"),
        #[allow(
            unreachable_patterns,
            reason = "reachable when core has more engines than this build"
        )]
        _ => cfg!(feature = "redis"),
    }
}

/// A typed engine plus the errors absorbed around it (keys that would not encode),
/// registered as one cache.
pub(super) struct TypedEntry<C> {
    pub(super) name: String,
    pub(super) cache: C,
    pub(super) errors: StatsCounter,
}

impl<C: ManagedCache> TypedEntry<C> {
    /// Wraps `cache`, registers it under its name, and returns the shared handle.
    pub(super) fn register(name: String, cache: C) -> std::sync::Arc<Self>
    where
        C: 'static,
    {
        let entry = std::sync::Arc::new(Self {
            name,
            cache,
            errors: StatsCounter::new(),
        });
        let managed: std::sync::Arc<dyn ManagedCache> = entry.clone();
        twat_cache_core::registry::register(&managed);
        entry
    }

    /// Counts an absorbed error (warned once per cause).
    pub(super) fn error(&self, error: &Error) {
        self.errors.error(&self.name, error);
    }
}

impl<C: ManagedCache> ManagedCache for TypedEntry<C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> Stats {
        let mut stats = self.cache.stats();
        stats.errors += self.errors.errors();
        stats
    }

    fn clear(&self) -> Result<(), Error> {
        self.errors.reset();
        self.cache.clear()
    }
}

/// `Debug` (whether the cache is built yet) and `Default` for a memo type: a `static`
/// cell whose cache is built on the first call.
macro_rules! memo_cell_impls {
    ($memo:ident) => {
        impl<V> std::fmt::Debug for $memo<V> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($memo))
                    .field("initialized", &self.cell.get().is_some())
                    .finish()
            }
        }

        impl<V> Default for $memo<V> {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(super) use memo_cell_impls;

/// A memo type: a `static` cell holding `$cell` (built on the first call), with `new`,
/// `Debug` and `Default`. The plain form marks the value type `V`; the `weighed` form
/// keeps an optional weigher instead and adds `weighed`.
macro_rules! memo_cell {
    ($(#[$doc:meta])* $memo:ident, $cell:ty) => {
        $crate::memo::memo_cell!(@struct $(#[$doc])* $memo, $cell,
            /// The value type, for the methods' signatures.
            _value: std::marker::PhantomData<fn() -> V> = std::marker::PhantomData);
    };
    ($(#[$doc:meta])* $memo:ident, $cell:ty, weighed) => {
        $crate::memo::memo_cell!(@struct $(#[$doc])* $memo, $cell,
            /// Bounds the cache by total weight (`maxsize = "64 MiB"`, `weigher = f`).
            weigher: Option<fn(&KeyBuf, &V) -> u32> = None);

        impl<V> $memo<V> {
            /// An empty cell for a cache whose `maxsize` bounds the entries' total
            /// weight, each weighing `weigher(&key, &value)`.
            #[must_use]
            pub const fn weighed(weigher: fn(&KeyBuf, &V) -> u32) -> Self {
                Self {
                    cell: std::sync::OnceLock::new(),
                    weigher: Some(weigher),
                }
            }
        }
    };
    (@struct $(#[$doc:meta])* $memo:ident, $cell:ty,
        $(#[$field_doc:meta])* $field:ident: $field_type:ty = $initial:expr) => {
        $(#[$doc])*
        pub struct $memo<V> {
            cell: std::sync::OnceLock<$cell>,
            $(#[$field_doc])*
            $field: $field_type,
        }

        $crate::memo::memo_cell_impls!($memo);

        impl<V> $memo<V> {
            /// An empty cell; the cache opens on the first call.
            #[must_use]
            pub const fn new() -> Self {
                Self {
                    cell: std::sync::OnceLock::new(),
                    $field: $initial,
                }
            }
        }
    };
}
pub(super) use memo_cell;

/// `call` of a memo whose `try_call::<E>(make, key, run)` does the work: the same with
/// a body that cannot fail.
macro_rules! infallible_call {
    () => {
        /// One call of a function whose whole return value is cached.
        pub fn call(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl FnOnce() -> V,
        ) -> V {
            match self.try_call::<std::convert::Infallible>(make, key, || Ok(run())) {
                Ok(value) => value,
                Err(never) => match never {},
            }
        }
    };
}
pub(super) use infallible_call;

/// [`infallible_call`] for an `async fn`'s memo.
macro_rules! infallible_call_async {
    () => {
        /// One call of an `async fn` whose whole output is cached.
        pub async fn call(
            &self,
            make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
            key: Option<Result<KeyBuf, Error>>,
            run: impl std::future::Future<Output = V>,
        ) -> V {
            let run = async move { Ok::<V, std::convert::Infallible>(run.await) };
            match self.try_call(make, key, run).await {
                Ok(value) => value,
                Err(never) => match never {},
            }
        }
    };
}
pub(super) use infallible_call_async;

/// Builds the configuration the macro wrote. Its values were validated when the macro
/// expanded, so this fails only if the runtime's rules ever diverge; then the cache
/// still works with the defaults under the same name, and says so once.
fn resolve_config(
    make: impl FnOnce() -> Result<CacheConfig, ConfigError>,
    fallback_name: &str,
) -> CacheConfig {
    match make() {
        Ok(config) => config,
        Err(err) => {
            tracing::warn!(error = %err, "twat-cache: invalid cache configuration, using defaults");
            CacheConfig::builder()
                .name(fallback_name)
                .build()
                .unwrap_or_default()
        }
    }
}
