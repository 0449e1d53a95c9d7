//! [`Weigh`]: how many bytes a value takes, for caches bounded by total weight
//! (`#[mcache(maxsize = "64 MiB")]`, or a weigher built with [`weigh_entry`]).
//!
//! The weight is an estimate of the memory an entry holds: the value's own size
//! (`size_of`) plus what it owns on the heap (a `String`'s capacity, a `Vec`'s elements,
//! …), not allocator overhead or the cache's own bookkeeping per entry. It only needs to
//! be consistent: the same value weighs the same every time it is asked.
//!
//! Why not `deepsize` or `get-size`, which offer similar traits: the macros' error
//! message and the facade name this trait, so it has to be the project's own; it is a
//! dozen impls, and a user type implements it in three lines (sum its fields' weights).
//!
//! See [`Weigh`] for an example.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::size_of;
use std::rc::Rc;
use std::sync::Arc;

use crate::key::KeyBuf;

/// The bytes a value takes: its own size plus what it owns on the heap.
///
/// Implemented for primitives, `String`, `Vec<T>`, `Box<T>`, `Box<[T]>`, `Box<str>`,
/// `Arc<T>`/`Rc<T>` (the pointer and the shared value, counted by every holder), maps,
/// sets, `VecDeque`, tuples up to 6, arrays, `Option`, `Result` and the memory engines'
/// [`KeyBuf`] keys. The facade `twat-cache` derives it (`#[derive(Weigh)]`, feature
/// `macros`); by hand, a user type sums its fields:
///
/// ```
/// use twat_cache_core::{Weigh, weigh_entry};
///
/// assert_eq!(String::with_capacity(100).weigh(), 24 + 100);
/// assert_eq!(vec![1_u64, 2, 3].weigh(), 24 + 3 * 8);
/// assert_eq!(Some(7_u32).weigh(), 8);
///
/// /// A user type: the sum of its fields.
/// struct Page {
///     title: String,
///     body: Vec<u8>,
/// }
///
/// impl Weigh for Page {
///     fn weigh(&self) -> usize {
///         self.title.weigh() + self.body.weigh()
///     }
/// }
///
/// let page = Page { title: "home".to_owned(), body: vec![0; 1000] };
/// assert_eq!(page.weigh(), 24 + 4 + 24 + 1000);
/// // a key and a value together, as a cache's weigher sees them (saturating at u32::MAX)
/// assert_eq!(weigh_entry(&7_u64, &page), 8 + 1052);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no weight: a size string such as `maxsize = \"64 MiB\"` bounds an in-memory cache by bytes, which needs `Weigh` for the cached value",
    label = "the cached value's type must implement `twat_cache::Weigh`",
    note = "implement `twat_cache::Weigh` for `{Self}` (sum its fields' `weigh()`), or give `weigher = path::to::fn` with `fn(&{Self}) -> u32`, or write `maxsize` as an entry count such as `maxsize = 1000`"
)]
pub trait Weigh {
    /// The bytes this value takes, its inline size included.
    fn weigh(&self) -> usize;
}

/// The weight of a cache entry, `key.weigh() + value.weigh()`, saturating at `u32::MAX`:
/// the weigher a cache bounded by bytes uses when its types implement [`Weigh`].
#[must_use]
pub fn weigh_entry<K: Weigh + ?Sized, V: Weigh + ?Sized>(key: &K, value: &V) -> u32 {
    u32::try_from(key.weigh().saturating_add(value.weigh())).unwrap_or(u32::MAX)
}

/// Types that own nothing on the heap weigh their size.
macro_rules! inline_weigh {
    ($($ty:ty),* $(,)?) => {$(
        impl Weigh for $ty {
            #[inline]
            fn weigh(&self) -> usize {
                size_of::<Self>()
            }
        }
    )*};
}

inline_weigh!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    std::time::Duration,
    std::time::SystemTime,
);

impl Weigh for str {
    fn weigh(&self) -> usize {
        self.len()
    }
}

impl Weigh for String {
    fn weigh(&self) -> usize {
        size_of::<Self>() + self.capacity()
    }
}

impl<T: Weigh> Weigh for [T] {
    fn weigh(&self) -> usize {
        self.iter().map(Weigh::weigh).sum()
    }
}

/// What a container's elements take beyond their inline part in the container's buffer.
fn heap_of<'a, T: Weigh + 'a>(items: impl Iterator<Item = &'a T>, spare: usize) -> usize {
    items.map(Weigh::weigh).sum::<usize>() + spare * size_of::<T>()
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + heap_of(self.iter(), self.capacity() - self.len())
    }
}

impl<T: Weigh> Weigh for VecDeque<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + heap_of(self.iter(), self.capacity() - self.len())
    }
}

impl<T: Weigh + ?Sized> Weigh for Box<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + (**self).weigh()
    }
}

impl<T: Weigh + ?Sized> Weigh for Arc<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + (**self).weigh()
    }
}

impl<T: Weigh + ?Sized> Weigh for Rc<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + (**self).weigh()
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weigh(&self) -> usize {
        // the inline size covers the value when present; add what it owns beyond it
        size_of::<Self>()
            + self
                .as_ref()
                .map_or(0, |value| value.weigh() - size_of::<T>())
    }
}

impl<T: Weigh, E: Weigh> Weigh for Result<T, E> {
    fn weigh(&self) -> usize {
        size_of::<Self>()
            + match self {
                Ok(value) => value.weigh() - size_of::<T>(),
                Err(error) => error.weigh() - size_of::<E>(),
            }
    }
}

impl<T: Weigh, const N: usize> Weigh for [T; N] {
    fn weigh(&self) -> usize {
        self.iter().map(Weigh::weigh).sum()
    }
}

impl<K: Weigh, V: Weigh, S> Weigh for HashMap<K, V, S> {
    fn weigh(&self) -> usize {
        size_of::<Self>()
            + map_entries(self.iter())
            + (self.capacity() - self.len()) * size_of::<(K, V)>()
    }
}

impl<T: Weigh, S> Weigh for HashSet<T, S> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + heap_of(self.iter(), self.capacity() - self.len())
    }
}

/// What a map's entries weigh.
fn map_entries<'a, K: Weigh + 'a, V: Weigh + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> usize {
    entries
        .map(|(key, value)| key.weigh() + value.weigh())
        .sum()
}

impl<K: Weigh, V: Weigh> Weigh for BTreeMap<K, V> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + map_entries(self.iter())
    }
}

impl<T: Weigh> Weigh for BTreeSet<T> {
    fn weigh(&self) -> usize {
        size_of::<Self>() + heap_of(self.iter(), 0)
    }
}

impl Weigh for KeyBuf {
    fn weigh(&self) -> usize {
        let bytes = self.as_bytes().len();
        // short keys live inline; longer ones own a heap buffer
        size_of::<Self>() + if bytes > Self::INLINE { bytes } else { 0 }
    }
}

/// Tuples weigh the sum of their fields (padding aside).
macro_rules! tuple_weigh {
    ($(($($name:ident),+)),* $(,)?) => {$(
        impl<$($name: Weigh),+> Weigh for ($($name,)+) {
            #[allow(non_snake_case, reason = "the type parameters name the fields")]
            fn weigh(&self) -> usize {
                let ($($name,)+) = self;
                0 $(+ $name.weigh())+
            }
        }
    )*};
}

tuple_weigh!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_count_their_heap() {
        assert_eq!(7_u8.weigh(), 1);
        assert_eq!(String::new().weigh(), 24);
        let mut words = Vec::with_capacity(4);
        words.push("ab".to_owned());
        // the vec, one string's heap, and four string slots
        assert_eq!(words.weigh(), 24 + (24 + 2) + 3 * 24);
        assert_eq!(Box::<[u16]>::from([1, 2, 3]).weigh(), 16 + 6);
        assert_eq!(None::<String>.weigh(), 24);
        assert_eq!(Some("abc".to_owned()).weigh(), 24 + 3);
        assert_eq!((1_u32, "xy".to_owned()).weigh(), 4 + 26);
        let mut map = BTreeMap::new();
        map.insert(1_u64, 2_u64);
        assert_eq!(map.weigh(), size_of::<BTreeMap<u64, u64>>() + 16);
        assert_eq!(weigh_entry(&1_u8, &vec![0_u8; 10]), 1 + 24 + 10);
        let long = KeyBuf::encode(&"x".repeat(200)).unwrap_or_else(|error| panic!("{error}"));
        assert!(long.weigh() > 200);
    }
}
