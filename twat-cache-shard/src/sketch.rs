//! [`FrequencySketch`]: how often each key was asked for recently, in 4 bits a counter —
//! the memory of W-TinyLFU's admission filter (`tinylfu.rs`).
//!
//! A count-min sketch of depth 4 as Caffeine's `FrequencySketch` and moka's
//! `frequency_sketch.rs` lay it out: a power-of-two table of `u64` words, each holding
//! sixteen 4-bit counters; a key picks one word per row (4 hashes) and, in each, the
//! counter `4·(hash & 3) + row`, so its 4 counters never share a nibble. The estimate is
//! the smallest of the 4 (over-counting only, by collisions). Counters saturate at 15:
//! W-TinyLFU only compares a newcomer with a victim, and Caffeine's "Efficiency" study
//! found 4 bits lose nothing against wider counters once the sketch ages.
//!
//! * **Aging.** After `sample_size` counter increments every counter is halved (one shift
//!   and mask per word) and the doorkeeper cleared, so a key popular an hour ago does not
//!   outrank today's: `30 × capacity` increments, at least 4 096 (see the constants for
//!   the measurements; Caffeine's is `10 × maximum`, counting every read). A first
//!   sighting (a doorkeeper bit) is not an increment. When the workload changes at once
//!   (`tinylfu.rs` detects it from the hit rate) the policy [`clear`](FrequencySketch::clear)s
//!   the sketch instead of waiting for halvings.
//! * **Doorkeeper.** A one-hash Bloom filter in front of the counters (TinyLFU paper,
//!   Einziger et al.): the first sighting of a key only sets its bit, and counters grow
//!   from the second on; one-hit wonders — most keys of a skewed stream's tail — never
//!   reach the counters, so collisions inflate fewer estimates. The estimate adds the bit.
//! * **Size.** `2 × capacity`, rounded up to a power of two, words, at least 512 (32
//!   counters per cached entry; Caffeine and moka give 16), and as many doorkeeper words
//!   (128 bits per entry): 32–64 bytes an entry in all (see [`WORDS_PER_ENTRY`]).

/// The counter increments between two halvings, per cached entry. Caffeine halves after
/// `10 × maximum` increments of every read and write; here hits reach the sketch through
/// the entries' pending counts (at most 15 an entry between two agings), so fewer
/// increments arrive per request. Measured on the hit-ratio bench (tinylfu ÷ best peer,
/// 10 → 20 → 30): Zipf 0.6 at 1 000 entries 0.975 → 1.000 → 1.024, Zipf 0.9 at 1 000
/// 0.984 → 0.998 → 1.005, Zipf 0.9 with scans 0.969 → 0.984 → 0.989, the shifting hot
/// set 0.978 → 0.980 → 0.977 (forgetting is not slowed measurably), loops unchanged.
/// First sightings (doorkeeper bits) do not count: counting them, Zipf 0.9 at 100 entries
/// answers 27.6% of requests, not counting them 28.2% (the tail's one-off keys no longer
/// halve the counts of the keys that return; with the rest of this crate's tuning).
const SAMPLE_PER_ENTRY: usize = 30;
/// The fewest increments between two halvings: below it a tail key of a small cache is
/// rarely seen twice before its count is halved (Zipf 0.9 at 100 entries, with a 1 000-
/// increment sample: 25.0%; with 4 096: 26.3%).
const MIN_SAMPLE: usize = 4_096;
/// Sketch words (16 counters each) per cached entry, before rounding up to a power of
/// two; the doorkeeper has as many words. Caffeine and moka use one. The estimates are
/// only as good as the collisions are rare, and between two halvings a skewed stream
/// shows the sketch many more distinct keys than the cache holds (its tail). Measured on
/// the hit-ratio bench (one word → two, three runs each, with the rest of this crate's
/// tuning): Zipf 0.6 at 1 000 entries 13.45 → 13.8%, Zipf 0.9 with scans 32.45 →
/// 32.8%, Zipf 0.9 at 1 000 46.3 → 46.4%, the rest unchanged; four words gain nothing
/// more (Zipf 0.6 13.55%, scans 32.65%).
const WORDS_PER_ENTRY: usize = 2;
/// The fewest words (16 counters each): room for the distinct keys of `MIN_SAMPLE`.
const MIN_WORDS: usize = 512;
/// Four odd multipliers, one per row (the 64-bit constants of CityHash and FNV, as used
/// by Caffeine's and moka's sketches for the same purpose).
const SEEDS: [u64; 4] = [
    0xc3a5_c85c_97cb_3127,
    0xb492_b66f_be98_f273,
    0x9ae1_6a3b_2f90_404f,
    0xcbf2_9ce4_8422_2325,
];
/// Clears the high bit of every nibble after a shift (halving 16 counters at once).
const ONE_MASK: u64 = 0x7777_7777_7777_7777;

/// A 4-bit count-min sketch with a doorkeeper and periodic halving.
pub(crate) struct FrequencySketch {
    table: Box<[u64]>,
    door: Box<[u64]>,
    /// `table.len() - 1` (a power of two minus one).
    mask: usize,
    /// Increments since the last halving.
    additions: usize,
    sample_size: usize,
}

impl FrequencySketch {
    /// A sketch for a cache (or shard) of `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        let words = capacity
            .saturating_mul(WORDS_PER_ENTRY)
            .clamp(MIN_WORDS, 1 << 26)
            .next_power_of_two();
        Self {
            table: vec![0; words].into_boxed_slice(),
            door: vec![0; words].into_boxed_slice(),
            mask: words - 1,
            additions: 0,
            sample_size: capacity.saturating_mul(SAMPLE_PER_ENTRY).max(MIN_SAMPLE),
        }
    }

    #[inline]
    fn spread(hash: u64, row: usize) -> u64 {
        let seed = SEEDS.get(row).copied().unwrap_or(SEEDS[0]);
        let mixed = (hash ^ seed).wrapping_mul(seed);
        mixed ^ (mixed >> 29)
    }

    /// The word of `row` for `hash`.
    #[inline]
    fn index(&self, hash: u64, row: usize) -> usize {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "only the low bits select the word"
        )]
        let low = Self::spread(hash, row) as usize;
        low & self.mask
    }

    /// The nibble of `row`'s counter inside its word.
    #[inline]
    const fn shift(hash: u64, row: usize) -> u32 {
        #[allow(clippy::cast_possible_truncation, reason = "row < 4, the offset < 16")]
        let offset = (((hash & 3) << 2) as usize + row) as u32;
        offset * 4
    }

    /// The doorkeeper bit of `hash`: (word, bit).
    #[inline]
    fn door_bit(&self, hash: u64) -> (usize, u64) {
        let mixed = Self::spread(hash.rotate_left(32), 3);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "only the low bits select the word"
        )]
        let word = (mixed >> 6) as usize & self.mask;
        (word, 1 << (mixed & 63))
    }

    /// The estimated recent uses of `hash`: 0 to 16 (15 from the counters, 1 from the
    /// doorkeeper).
    pub(crate) fn frequency(&self, hash: u64) -> u32 {
        let mut least = 15;
        for row in 0..4 {
            let word = self.table.get(self.index(hash, row)).copied().unwrap_or(0);
            #[allow(clippy::cast_possible_truncation, reason = "a nibble")]
            let count = ((word >> Self::shift(hash, row)) & 15) as u32;
            least = least.min(count);
        }
        let (word, bit) = self.door_bit(hash);
        let seen = self.door.get(word).is_some_and(|word| word & bit != 0);
        least + u32::from(seen)
    }

    /// Counts `times` uses of `hash` (the first ever only sets its doorkeeper bit).
    /// Returns `true` when the sketch is due a [`halve`](Self::halve).
    pub(crate) fn add(&mut self, hash: u64, times: u32) -> bool {
        let mut times = times.min(16);
        if times == 0 {
            return self.additions >= self.sample_size;
        }
        let (word, bit) = self.door_bit(hash);
        if let Some(door) = self.door.get_mut(word)
            && *door & bit == 0
        {
            // A first sighting does not count toward the next halving: one-off keys (a
            // scan, a Zipf stream's tail) would otherwise age the counts of the keys that
            // return (see `SAMPLE_PER_ENTRY`).
            *door |= bit;
            times -= 1;
        }
        if times > 0 {
            let mut added = false;
            for row in 0..4 {
                let index = self.index(hash, row);
                let shift = Self::shift(hash, row);
                if let Some(word) = self.table.get_mut(index) {
                    let count = (*word >> shift) & 15;
                    let raised = (count + u64::from(times)).min(15);
                    if raised != count {
                        *word = (*word & !(15 << shift)) | (raised << shift);
                        added = true;
                    }
                }
            }
            if added {
                self.additions += times as usize;
            }
        }
        self.additions >= self.sample_size
    }

    /// Ages the sketch: halves every counter and clears the doorkeeper.
    pub(crate) fn halve(&mut self) {
        for word in &mut self.table {
            *word = (*word >> 1) & ONE_MASK;
        }
        self.door.fill(0);
        self.additions /= 2;
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.table.fill(0);
        self.door.fill(0);
        self.additions = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_age() {
        let mut sketch = FrequencySketch::new(1_000);
        let hash = 0x1234_5678_9abc_def0;
        assert_eq!(sketch.frequency(hash), 0);
        sketch.add(hash, 1);
        assert_eq!(sketch.frequency(hash), 1, "the doorkeeper's bit");
        sketch.add(hash, 3);
        assert_eq!(sketch.frequency(hash), 4);
        sketch.add(hash, 40);
        assert_eq!(
            sketch.frequency(hash),
            16,
            "15 in the counters, 1 in the doorkeeper"
        );
        sketch.halve();
        assert_eq!(sketch.frequency(hash), 7, "halved, doorkeeper cleared");
    }

    #[test]
    fn halving_is_due_after_the_sample() {
        // 30 × capacity increments, at least MIN_SAMPLE; a first sighting (the
        // doorkeeper's bit) is not an increment, so each key's second use counts
        for (capacity, sample) in [(16, MIN_SAMPLE), (1_000, 30_000)] {
            let mut sketch = FrequencySketch::new(capacity);
            assert_eq!(sketch.sample_size, sample, "capacity {capacity}");
            let mut due = false;
            for key in 0..2 * sample as u64 {
                due = sketch.add(key.wrapping_mul(0x9e37_79b9_7f4a_7c15), 2);
                // (a doorkeeper collision makes a key's 2 uses 2 increments)
                if due {
                    assert!((sample..sample + 2).contains(&sketch.additions));
                    break;
                }
                assert!(sketch.additions < sample);
            }
            assert!(due, "capacity {capacity}: due after the sample");
        }
        let mut sketch = FrequencySketch::new(16);
        let first_sightings = (0..MIN_SAMPLE as u64)
            .any(|key| sketch.add(key.wrapping_mul(0x9e37_79b9_7f4a_7c15), 1));
        // (only doorkeeper collisions make a one-off key's use an increment)
        assert!(!first_sightings, "first sightings are not increments");
    }

    #[test]
    fn few_collisions_at_capacity() {
        // 1000 keys seen 5 times each in a sketch for 1000: estimates stay close.
        let mut sketch = FrequencySketch::new(1_000);
        let keys: Vec<u64> = (0..1_000_u64)
            .map(|key| key.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for &key in &keys {
            sketch.add(key, 5);
        }
        let over = keys
            .iter()
            .filter(|&&key| sketch.frequency(key) > 5)
            .count();
        assert!(over < 50, "{over} of 1000 over-estimated");
        let unseen = (5_000..6_000_u64)
            .map(|key| sketch.frequency(key.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .filter(|&count| count > 1)
            .count();
        assert!(unseen < 50, "{unseen} unseen keys estimated above 1");
    }
}
