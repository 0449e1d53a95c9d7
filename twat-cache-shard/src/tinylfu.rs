//! [`TinyLfu`]: the native W-TinyLFU policy of a shard — an admission window (LRU) in
//! front of a segmented LRU main region (probation, protected), a frequency sketch
//! that decides which of the window's oldest entry and the main region's victim stays,
//! and a window whose share of the cache adapts by hill climbing. Caffeine's design (its
//! wiki's "Design" and "Efficiency" pages), written for this store's lazy queues.
//!
//! # How it fits the store
//!
//! The hit path is the LRU path: the entry's `stamp` takes the clock (see `store.rs`),
//! plus one lossy saturating bump of the entry's `pending` use count (stored only while
//! it is below 15, so a hot entry stops writing). No lock beyond the shard's striped read
//! lock, nothing allocated, nothing shared written: the reads Caffeine records in a lossy
//! buffer are recorded in the entry itself and folded into the sketch when the entry
//! leaves and at every aging — the same amortization, without a buffer to drain.
//!
//! Everything else runs under the shard's write lock, on an insert of a new key:
//!
//! * Each segment is a queue of `(queued, hash)` items in the order entries entered it;
//!   `queued` is a fresh clock stamp, kept in the entry. An entry whose access `stamp` is
//!   newer than its `queued` was used since; popping it re-queues it (window, protected:
//!   LRU order) or promotes it (probation → protected) instead of evicting it: the
//!   relinking an LRU does on every hit is done once, lazily, at eviction time.
//! * A new key enters the window. When the window is full its LRU entry (the candidate)
//!   leaves it; while the main region has room it joins probation, else it duels the
//!   main region's victim (probation's LRU): the one with the higher sketch frequency
//!   stays, the other is evicted (ties evict the candidate, Caffeine's rule; a candidate
//!   of frequency ≥ 6 wins one tie in 128 at random, Caffeine's guard against an
//!   attacker pinning a victim).
//! * Every new key counts one use in the sketch (the miss); an entry's `pending` uses are
//!   added when it leaves and before each aging, so the sketch estimate plus the entry's
//!   `pending` is its frequency.
//! * **A shift** — the hit rate of a climbing sample [`SHIFT_DROP`] below both samples
//!   before it — means the popular keys changed at once (a new day's working set, the
//!   next phase of a batch). The counts the sketch holds then protect the old favourites:
//!   each would win its duels until two or three halvings wore its count down, and the
//!   protected segment, which only gives up entries when others are promoted, would keep
//!   them longer still. So on a shift the sketch forgets (cleared, pending uses dropped),
//!   protected's entries all rejoin probation (they stay until they lose a duel or are
//!   used again), and the climber does not read the drop as the effect of its last step:
//!   the window stays put and the next step shrinks it (the recovery that follows is not
//!   credited to a growing window). quick_cache gets the same effect from its small
//!   CLOCK counters and its ghost list; here it costs nothing between shifts.
//!
//! # Constants, and the measurement behind them
//!
//! * Window 1% of the shard at first, protected 90% of the main region, hill-climbing
//!   step 5% of the cache, decayed by 0.98 a sample and reset when the hit rate moves
//!   5 points, one sample per 10 × capacity requests: Caffeine's values
//!   (`BoundedLocalCache`; its protected share is 80%, its step 6.25%, and it steps
//!   on changes that sampling noise explains, which this climber ignores: see the
//!   constants for the measurements), which its "Efficiency" traces show adapt from
//!   frequency-skewed (small window) to recency-skewed (large window) workloads. This
//!   crate's hit-ratio benchmark (`cargo bench -p twat-cache-benches --bench hitratio`)
//!   agrees: on its recency-heavy stream (70% of requests repeat one of the last 500, at
//!   1 000 entries) a fixed 1% window answers 31% of requests, the climbing one 67% (LRU
//!   70%), while on the Zipf, scan and loop streams climbing costs at most a point and a
//!   half against the best fixed window. The sample has a floor of 10 000 requests
//!   ([`MIN_SAMPLE`]'s measurements).
//! * `pending` saturates at 15, the sketch's own ceiling: a larger count would not change
//!   a duel.
//!
//! # Why not S3-FIFO or CLOCK-Pro
//!
//! quick_cache (CLOCK-Pro-like, with ghost entries) is the best peer on most skewed
//! workloads of the hit-ratio benchmark and on the shifting hot set, moka (W-TinyLFU) on
//! loops and mixes, `cached`'s LRU on the recency-heavy stream. This W-TinyLFU matches or
//! passes quick_cache and moka on every workload of the suite (its sketch ages more
//! slowly than Caffeine's, see `sketch.rs`, and forgets at once on a shift, see above),
//! passes every peer on loops and mixes, and stays a few percent behind LRU on pure
//! recency — no single peer design does better across the suite, and its hit is an LRU
//! hit here (CLOCK-Pro's and S3-FIFO's hits are as cheap, but their ghost queues are a
//! second hash table to keep), so it is the policy written natively.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use crate::sketch::FrequencySketch;
use crate::table::{Slot, Table};

/// The window's first share of the cache (Caffeine: `PERCENT_MAIN = 0.99`). Measured
/// (hit-ratio bench, climbing on; 1% → 5% → 20%): the loop over 1.1× a cache of 10 000
/// 88.3 → 87.2 → 79.6%, Zipf 0.9 at 1 000 45.0 → 45.1 → 44.3%, the recency stream 67.1 →
/// 67.1 → 69.3%, the mix 39.3 → 39.5 → 40.7%: starting small, the climber grows the
/// window where a large one pays; starting large, it does not shrink it fast enough
/// where it costs.
const WINDOW_SHARE: f64 = 0.01;
/// The protected segment's share of the main region (Caffeine: `PERCENT_MAIN_PROTECTED`,
/// 80%). Measured without shift handling (50% → 80% → 90%): Zipf 0.6 11.6 → 12.5 →
/// 13.0%, Zipf 0.9 with scans 30.8 → 31.5 → 32.2%, the shifting hot set 41.8 → 40.9 →
/// 39.8%, the mix 40.2 → 39.3 → 38.7%: more protection keeps static favourites and loses
/// moving ones. Since a shift empties protected (see the module docs), moving favourites
/// no longer pay for it: 90%.
const PROTECTED_SHARE: f64 = 0.90;
/// The hill climber's step, as a share of the cache (Caffeine: `HILL_CLIMBER_STEP_PERCENT`,
/// 6.25%). Measured (6.25% → 5%, three runs each, with the rest of this module's tuning):
/// Zipf 1.2 at 1 000 entries 84.0 → 84.3%, Zipf 0.9 with scans 32.3 → 32.5%, the
/// recency-heavy stream 67.0 → 66.6%, the mix 39.5 → 38.5% (run to run ±1): on static
/// workloads a smaller step wanders less.
const STEP_SHARE: f64 = 0.05;
/// The step's decay per sample (Caffeine: `HILL_CLIMBER_STEP_DECAY_RATE`).
const STEP_DECAY: f64 = 0.98;
/// A hit-rate change that restarts the climb with a full step (Caffeine:
/// `HILL_CLIMBER_RESTART_THRESHOLD`).
const RESTART_THRESHOLD: f64 = 0.05;
/// Requests per climbing sample, per cached entry (Caffeine: the sketch's sample size).
const SAMPLE_PER_ENTRY: u64 = 10;
/// The fewest requests per climbing sample. Caffeine's 10 × capacity is 1 000 requests
/// for a cache of 100: a hit rate measured on so few moves by ±1.5 points from noise
/// alone, so the climber restarts (5 points) and wanders. Measured on the hit-ratio bench
/// (floor: Zipf 0.9 at 100 entries / Zipf 0.9 with scans at 1 000 / the recency-heavy
/// stream at 1 000 / the mix): none: 24.0–26.8% (run to run) / — / — / —; 10 000:
/// 27.6 / 31.0 / 67.0 / 40.3%; 50 000: 27.8 / 32.1 / 51.4 / 35.6%; never climbing:
/// 27.9 / 32.4 / 31.4 / 35.4%. A larger floor calms small caches but leaves the window
/// too slow to grow for recency-heavy traffic (where LRU answers 70%); 10 000 keeps
/// small caches within 1% of never climbing and recency within 5% of LRU.
const MIN_SAMPLE: u64 = 10_000;
/// How many standard deviations of sampling noise a hit-rate change must exceed for the
/// climber to act on it. Two samples of `n` requests at hit rate `r` differ by
/// `√(2·r·(1−r)/n)` on average from chance alone (0.7 points for 10 000 requests at
/// 50%); Caffeine's climber steps on any change, so on a static workload its window
/// wanders by a step or two each way after noise. Below the gate the window stays and
/// the step decays. Measured on the hit-ratio bench (no gate → 1 → 2 → 3 deviations, two
/// runs each): Zipf 0.9 at 1 000 entries 46.0 → 46.2 → 46.25 → 46.4%, Zipf 1.2 at 1 000
/// 84.3 → 84.4 → 84.55 → 84.6%, Zipf 0.6 13.55 → 13.65 → 13.8 → 13.8%, Zipf 0.9 with
/// scans 32.65 → 32.65 → 32.7 → 32.8%, the recency-heavy stream 66.5% throughout (its
/// window steps move the rate by points, far above the gate); 4 deviations: no better.
const NOISE_GATE: f64 = 3.0;
/// A sample's hit rate this far below both samples before it is a shift (see the module
/// docs). Measured (hit-ratio bench, the shifting hot set at 1 000 entries, whose hit
/// rate falls from 46% to 25–36% on each move): without shift handling 40.7% of
/// requests answered, with it 42.8–42.9%; the static Zipf, scan and loop streams do not
/// trigger it (their samples move by at most ±3 points, and comparing with the lower of
/// two samples ignores the one-sample dips a scan makes).
const SHIFT_DROP: f64 = 0.05;
/// A candidate this frequent wins a lost duel one time in 128 (Caffeine:
/// `ADMIT_HASHDOS_THRESHOLD`).
const HASHDOS_THRESHOLD: u32 = 6;
/// The highest estimate: a saturated counter (15) and the doorkeeper's bit.
const FREQUENCY_MAX: u32 = 16;
/// The bits of a queue stamp an entry keeps (`store.rs` packs the segment and the pending
/// uses above them); every stamp this module compares is cut to them.
pub(crate) const QUEUED_MASK: u64 = (1 << 58) - 1;
/// The ceiling of an entry's `pending` uses.
pub(crate) const PENDING_MAX: u32 = 15;

/// Which region of W-TinyLFU an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    Window = 0,
    Probation = 1,
    Protected = 2,
}

impl Segment {
    const fn at(self) -> usize {
        self as usize
    }
}

/// What a W-TinyLFU entry carries besides its stamp: its segment, when it was queued
/// there, and its uses not yet added to the sketch. Entries of other policies carry
/// none of it (the defaults).
pub(crate) trait Segmented {
    fn segment(&self) -> Segment {
        Segment::Window
    }
    fn set_segment(&mut self, _segment: Segment) {}
    fn queued(&self) -> u64 {
        0
    }
    fn set_queued(&mut self, _queued: u64) {}
    /// One more use (hit path, read lock): lossy, saturating at [`PENDING_MAX`].
    #[inline]
    fn bump_pending(&self) {}
    fn pending(&self) -> u32 {
        0
    }
    /// The pending uses, zeroed.
    fn take_pending(&self) -> u32 {
        0
    }
}

/// An item of a segment's queue: `(queued, hash)`.
type Item = (u64, u64);

/// The adaptive window's hill climber (Caffeine's `climb`).
struct Climber {
    previous_rate: f64,
    step: f64,
    base_hits: u64,
    base_misses: u64,
    /// The hit rate of the sample before the previous one.
    older_rate: f64,
    sample: u64,
    /// New keys since the last look at the hit rate.
    new_keys: usize,
}

/// A shard's W-TinyLFU state: queues, segment sizes, the sketch and the climber.
pub(crate) struct TinyLfu {
    queues: [VecDeque<Item>; 3],
    lens: [usize; 3],
    /// This shard's share of the cache.
    capacity: usize,
    /// The window's target size, fractional (the climber moves it in steps).
    window: f64,
    window_cap: usize,
    protected_cap: usize,
    sketch: FrequencySketch,
    climber: Climber,
    /// Set by the climber on a shift: forget at the next eviction.
    shifted: bool,
    rng: u64,
}

impl TinyLfu {
    /// The policy state of a shard holding `capacity` of a cache of `total` entries.
    pub(crate) fn new(capacity: usize, total: usize, seed: u64) -> Self {
        let capacity = capacity.max(1);
        #[allow(clippy::cast_precision_loss, reason = "cache sizes are far below 2^53")]
        let size = capacity as f64;
        let mut tiny = Self {
            queues: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            lens: [0; 3],
            capacity,
            window: (size * WINDOW_SHARE).max(1.0),
            window_cap: 1,
            protected_cap: 0,
            sketch: FrequencySketch::new(capacity),
            climber: Climber {
                previous_rate: 0.0,
                step: -STEP_SHARE * size,
                base_hits: 0,
                base_misses: 0,
                older_rate: 0.0,
                sample: (total.max(1) as u64)
                    .saturating_mul(SAMPLE_PER_ENTRY)
                    .max(MIN_SAMPLE),
                new_keys: 0,
            },
            shifted: false,
            rng: seed | 1,
        };
        tiny.resize();
        tiny
    }

    /// Derives the segment bounds from the window's target.
    fn resize(&mut self) {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "cache sizes are far below 2^53; the window is clamped positive"
        )]
        {
            let most = self.capacity.saturating_sub(1).max(1) as f64;
            self.window = self.window.clamp(1.0, most);
            self.window_cap = self.window.round() as usize;
            let main = self.capacity.saturating_sub(self.window_cap);
            self.protected_cap = (main as f64 * PROTECTED_SHARE) as usize;
        }
    }

    /// Items queued, stale ones included.
    pub(crate) fn queued_len(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Forgets every entry (the sketch too: a cleared cache starts afresh).
    pub(crate) fn clear(&mut self) {
        for queue in &mut self.queues {
            queue.clear();
        }
        self.lens = [0; 3];
        self.sketch.clear();
    }

    /// Whether the climber wants the hit and miss totals (about once per shard turnover).
    pub(crate) const fn climb_due(&self) -> bool {
        self.climber.new_keys >= self.capacity
    }

    /// Moves the window toward a better hit rate, given the cache's hit and miss totals
    /// (since creation): Caffeine's hill climbing, one step per sample of requests,
    /// except that a change within [`NOISE_GATE`] deviations of chance moves nothing. A
    /// sample [`SHIFT_DROP`] below both before it is a shift instead: the window stays,
    /// the next step shrinks it, and the next eviction forgets (see the module docs).
    pub(crate) fn climb(&mut self, hits: u64, misses: u64) {
        self.climber.new_keys = 0;
        let climber = &mut self.climber;
        if hits < climber.base_hits || misses < climber.base_misses {
            // the counters were reset: start a new sample from here
            climber.base_hits = hits;
            climber.base_misses = misses;
            return;
        }
        let sample_hits = hits.saturating_sub(climber.base_hits);
        let sample_misses = misses.saturating_sub(climber.base_misses);
        let requests = sample_hits + sample_misses;
        if requests < climber.sample {
            return;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "request counts of one sample are far below 2^53"
        )]
        let rate = sample_hits as f64 / requests as f64;
        let change = rate - climber.previous_rate;
        #[allow(clippy::cast_precision_loss, reason = "cache sizes are far below 2^53")]
        let full_step = STEP_SHARE * self.capacity as f64;
        let shifted = climber.previous_rate.min(climber.older_rate) - rate >= SHIFT_DROP;
        climber.older_rate = climber.previous_rate;
        climber.previous_rate = rate;
        climber.base_hits = hits;
        climber.base_misses = misses;
        if shifted {
            climber.step = -full_step;
            self.shifted = true;
            return;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "request counts of one sample are far below 2^53"
        )]
        let noise = (2.0 * rate * (1.0 - rate) / requests as f64).sqrt();
        if change.abs() < NOISE_GATE * noise {
            // no evidence either way: stay, and take a smaller step next time
            climber.step *= STEP_DECAY;
            return;
        }
        let amount = if change >= 0.0 {
            climber.step
        } else {
            -climber.step
        };
        climber.step = if change.abs() >= RESTART_THRESHOLD {
            if amount >= 0.0 { full_step } else { -full_step }
        } else {
            STEP_DECAY * amount
        };
        self.window += amount;
        self.resize();
    }

    /// Records a new key (a miss) in the sketch; ages the sketch when due, folding the
    /// entries' pending uses in first.
    pub(crate) fn record_new_key<K, V, M: Segmented>(&mut self, hash: u64, table: &Table<K, V, M>) {
        self.climber.new_keys += 1;
        if self.sketch.add(hash, 1) {
            self.age(table);
        }
    }

    /// After a shift: the sketch and the entries' pending uses are forgotten, and every
    /// protected entry rejoins probation (in protected's order, behind probation's own).
    fn forget<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) {
        for slot in table.iter() {
            slot.meta.take_pending();
        }
        self.sketch.clear();
        // (the bound only guards against a queue that lost count)
        for _ in 0..=self.queues[Segment::Protected.at()].len() {
            let Some((queued, hash, _)) = self.pop(Segment::Protected, table) else {
                break;
            };
            self.move_to(table, (queued, hash), Segment::Probation, fresh);
        }
    }

    fn age<K, V, M: Segmented>(&mut self, table: &Table<K, V, M>) {
        for slot in table.iter() {
            self.sketch.add(slot.hash, slot.meta.take_pending());
        }
        self.sketch.halve();
    }

    /// A new entry (already in the table, `queued` = its stamp) enters the window.
    pub(crate) fn admit_new(&mut self, hash: u64, queued: u64) {
        self.queues[Segment::Window.at()].push_back((queued & QUEUED_MASK, hash));
        self.lens[Segment::Window.at()] += 1;
    }

    /// An entry left the table (removed, expired, evicted): its segment shrinks and its
    /// pending uses go to the sketch.
    pub(crate) fn left<K, V, M: Segmented>(&mut self, slot: &Slot<K, V, M>) {
        let at = slot.meta.segment().at();
        if let Some(len) = self.lens.get_mut(at) {
            *len = len.saturating_sub(1);
        }
        // (ageing waits for the next new key: `table` is mid-update here)
        self.sketch.add(slot.hash, slot.meta.take_pending());
    }

    /// Rebuilds the queues from the entries when stale items (of entries removed by the
    /// user or expired) outnumber live ones.
    pub(crate) fn compact<K, V, M: Segmented>(&mut self, table: &Table<K, V, M>) {
        if self.queued_len() <= 2 * table.len() + 64 {
            return;
        }
        let mut items: [Vec<Item>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        self.lens = [0; 3];
        for slot in table.iter() {
            let at = slot.meta.segment().at();
            if let (Some(items), Some(len)) = (items.get_mut(at), self.lens.get_mut(at)) {
                items.push((slot.meta.queued(), slot.hash));
                *len += 1;
            }
        }
        for (queue, mut items) in self.queues.iter_mut().zip(items) {
            items.sort_unstable();
            *queue = items.into();
        }
    }

    /// The oldest live item of `segment`, popped: `(queued, hash, used since queued)`.
    fn pop<K, V, M: Segmented>(
        &mut self,
        segment: Segment,
        table: &Table<K, V, M>,
    ) -> Option<(u64, u64, bool)> {
        loop {
            let (queued, hash) = self.queues.get_mut(segment.at())?.pop_front()?;
            let live = table.find(hash, |slot| {
                slot.hash == hash && slot.meta.queued() == queued && slot.meta.segment() == segment
            });
            if let Some(slot) = live {
                let used = slot.stamp.load(Ordering::Relaxed) & QUEUED_MASK > queued;
                return Some((queued, hash, used));
            }
            // stale: its entry left or moved
        }
    }

    /// Queues the entry `(queued, hash)` at the back of `to` (from whatever segment it is
    /// in) with a fresh `queued` stamp.
    fn move_to<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        (queued, hash): Item,
        to: Segment,
        fresh: &mut impl FnMut() -> u64,
    ) {
        let Some(slot) = table.find_mut(hash, |slot| {
            slot.hash == hash && slot.meta.queued() == queued
        }) else {
            return;
        };
        let from = slot.meta.segment();
        let stamp = fresh() & QUEUED_MASK;
        slot.meta.set_queued(stamp);
        slot.meta.set_segment(to);
        if let Some(len) = self.lens.get_mut(from.at()) {
            *len = len.saturating_sub(1);
        }
        self.lens[to.at()] += 1;
        self.queues[to.at()].push_back((stamp, hash));
    }

    /// Removes the entry `(queued, hash)` from the table.
    fn remove<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        (queued, hash): Item,
    ) -> Option<Slot<K, V, M>> {
        let slot = table.remove(hash, |slot| {
            slot.hash == hash && slot.meta.queued() == queued
        })?;
        self.left(&slot);
        Some(slot)
    }

    /// The window's least recently used entry, popped (used ones are re-queued).
    fn window_candidate<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) -> Option<Item> {
        // Each entry is re-queued at most once (its new stamp is newer than its uses); the
        // bound only guards against stamps that wrapped around `QUEUED_MASK`.
        for _ in 0..=self.lens[Segment::Window.at()] {
            let (queued, hash, used) = self.pop(Segment::Window, table)?;
            if !used {
                return Some((queued, hash));
            }
            self.move_to(table, (queued, hash), Segment::Window, fresh);
        }
        self.pop(Segment::Window, table)
            .map(|(queued, hash, _)| (queued, hash))
    }

    /// The main region's victim, popped: probation's least recently used entry, after
    /// promoting the used ones to protected (and demoting protected's overflow).
    fn main_victim<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) -> Option<Item> {
        // Each entry is promoted or re-queued at most once per use; the bound only guards
        // against stamps that wrapped around `QUEUED_MASK`.
        let most =
            2 * (self.lens[Segment::Probation.at()] + self.lens[Segment::Protected.at()]) + 2;
        for _ in 0..most {
            match self.pop(Segment::Probation, table) {
                Some((queued, hash, false)) => return Some((queued, hash)),
                Some((queued, hash, true)) => {
                    self.move_to(table, (queued, hash), Segment::Protected, fresh);
                    self.demote_overflow(table, fresh);
                }
                None => {
                    // probation is empty: protected's least recently used entry joins it
                    let (queued, hash, used) = self.pop(Segment::Protected, table)?;
                    let to = if used {
                        Segment::Protected
                    } else {
                        Segment::Probation
                    };
                    self.move_to(table, (queued, hash), to, fresh);
                }
            }
        }
        self.pop(Segment::Probation, table)
            .map(|(queued, hash, _)| (queued, hash))
    }

    /// Moves protected's least recently used entries to probation while it is over its
    /// bound.
    fn demote_overflow<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) {
        let mut most = 2 * self.lens[Segment::Protected.at()] + 2;
        while self.lens[Segment::Protected.at()] > self.protected_cap && most > 0 {
            most -= 1;
            let Some((queued, hash, used)) = self.pop(Segment::Protected, table) else {
                return;
            };
            let to = if used && most > 0 {
                Segment::Protected
            } else {
                Segment::Probation
            };
            self.move_to(table, (queued, hash), to, fresh);
        }
    }

    /// An entry's estimated uses: the sketch's count plus its pending uses.
    fn frequency<K, V, M: Segmented>(&self, table: &Table<K, V, M>, (queued, hash): Item) -> u32 {
        let pending = table
            .find(hash, |slot| {
                slot.hash == hash && slot.meta.queued() == queued
            })
            .map_or(0, |slot| slot.meta.pending());
        // as if the pending uses were in the sketch already: its counters stop at 15
        (self.sketch.frequency(hash) + pending).min(FREQUENCY_MAX)
    }

    /// Whether the window's `candidate` should replace the main region's `victim`.
    fn admit<K, V, M: Segmented>(
        &mut self,
        table: &Table<K, V, M>,
        candidate: Item,
        victim: Item,
    ) -> bool {
        let candidate_uses = self.frequency(table, candidate);
        if candidate_uses > self.frequency(table, victim) {
            return true;
        }
        if candidate_uses >= HASHDOS_THRESHOLD {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            return self.rng & 127 == 0;
        }
        false
    }

    /// Makes room for one entry: evicts one entry per W-TinyLFU and returns it (`None`
    /// when there is none to evict). `fresh` hands out new clock stamps.
    pub(crate) fn evict_one<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) -> Option<Slot<K, V, M>> {
        if self.shifted {
            self.shifted = false;
            self.forget(table, fresh);
        }
        let window = Segment::Window.at();
        // The window shrank below what it holds: its oldest entries join probation.
        while self.lens[window] > self.window_cap {
            let Some(candidate) = self.window_candidate(table, fresh) else {
                break;
            };
            self.move_to(table, candidate, Segment::Probation, fresh);
        }
        if self.lens[window] >= self.window_cap {
            let Some(candidate) = self.window_candidate(table, fresh) else {
                return self.evict_main(table, fresh);
            };
            // (In a sharded cache a shard may hold less than its share; it still duels:
            // its size was fixed when the cache filled, and evicting without a duel would
            // make it an LRU.)
            let Some(victim) = self.main_victim(table, fresh) else {
                return self.remove(table, candidate);
            };
            if self.admit(table, candidate, victim) {
                self.move_to(table, candidate, Segment::Probation, fresh);
                self.remove(table, victim)
            } else {
                // the victim keeps its place at probation's front
                self.queues[Segment::Probation.at()].push_front(victim);
                self.remove(table, candidate)
            }
        } else {
            // the window grew: the main region gives up an entry
            self.evict_main(table, fresh)
        }
    }

    /// Evicts the main region's victim, or else the window's oldest entry.
    fn evict_main<K, V, M: Segmented>(
        &mut self,
        table: &mut Table<K, V, M>,
        fresh: &mut impl FnMut() -> u64,
    ) -> Option<Slot<K, V, M>> {
        if let Some(victim) = self.main_victim(table, fresh) {
            return self.remove(table, victim);
        }
        let candidate = self.window_candidate(table, fresh)?;
        self.remove(table, candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The climber moves the window one step per full sample, keeps going while the hit
    /// rate does not drop, turns back when it does, and stays within the cache.
    #[test]
    fn the_window_climbs_toward_a_better_hit_rate() {
        let mut tiny = TinyLfu::new(1_000, 1_000, 7);
        assert_eq!(tiny.window_cap, 10, "1% at first");
        assert_eq!(tiny.protected_cap, 891, "90% of the main region");
        // too few requests for a sample: nothing moves
        tiny.climb(100, 100);
        assert_eq!(tiny.window_cap, 10);
        // a first sample (rate 0.5): the first step shrinks, clamped at one entry
        tiny.climb(5_000, 5_000);
        assert_eq!(tiny.window_cap, 1);
        // the hit rate drops (0.4): turn back, a full step (5% of 1 000) up
        tiny.climb(9_000, 11_000);
        assert_eq!(tiny.window_cap, 51);
        // it rises (0.6): keep going up
        tiny.climb(15_000, 15_000);
        assert_eq!(tiny.window_cap, 101);
        assert_eq!(
            tiny.protected_cap, 809,
            "90% of the 899 left to the main region"
        );
        assert!(
            !tiny.shifted,
            "a drop below one earlier sample only is no shift"
        );
        // reset counters: a new baseline, no move
        tiny.climb(0, 0);
        assert_eq!(tiny.window_cap, 101);
        // a steady hit rate (changes within sampling noise) moves nothing
        let (mut hits, mut misses) = (0, 0);
        for round in 1..50_u64 {
            hits += 6_000 + round;
            misses += 4_000;
            tiny.climb(hits, misses);
        }
        assert_eq!(
            tiny.window_cap, 101,
            "changes within sampling noise move nothing"
        );
        assert!(!tiny.shifted, "a steady hit rate is no shift");
        // and swings move the window, never beyond the cache
        let (mut smallest, mut largest) = (tiny.window_cap, tiny.window_cap);
        for round in 1..200_u64 {
            let sample_hits = if round % 3 == 0 {
                3_000
            } else {
                8_000 + 10 * round
            };
            hits += sample_hits;
            misses += 10_000 - sample_hits.min(9_000);
            tiny.climb(hits, misses);
            assert!((1..1_000).contains(&tiny.window_cap), "{}", tiny.window_cap);
            smallest = smallest.min(tiny.window_cap);
            largest = largest.max(tiny.window_cap);
        }
        assert!(smallest < 101 && largest > 101, "{smallest}..{largest}");
    }

    /// A sample far below both before it is a shift: the window stays, the next eviction
    /// forgets, and the climb that follows shrinks the window.
    #[test]
    fn a_sudden_drop_is_a_shift() {
        let mut tiny = TinyLfu::new(1_000, 1_000, 7);
        tiny.climb(6_000, 4_000); // 0.6: the first step shrinks the window to 1
        tiny.climb(6_000 + 5_000, 4_000 + 5_000); // 0.5: turn back, up 50
        assert_eq!(tiny.window_cap, 51);
        tiny.climb(11_000 + 5_500, 9_000 + 4_500); // 0.55: keep going up
        assert_eq!(tiny.window_cap, 101);
        assert!(!tiny.shifted);
        // 0.4 is 10 points below the lower of the two samples before it
        tiny.climb(16_500 + 4_000, 13_500 + 6_000);
        assert!(tiny.shifted, "the drop is a shift");
        assert_eq!(tiny.window_cap, 101, "the window stays on a shift");
        // the recovery (0.45) shrinks the window: the step turned toward frequency
        tiny.climb(20_500 + 4_500, 19_500 + 5_500);
        assert_eq!(tiny.window_cap, 51);
    }
}
