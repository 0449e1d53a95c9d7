//! In-memory engine of twat-cache (LRU, LFU, FIFO, RR, TinyLFU, unbounded; TTL; single-flight) — built by the memory-engine issue; nothing here yet.
