//! Persistent disk engine of twat-cache on fjall — built by the disk-engine issue; nothing here yet.
