//! Content-addressed file engine of twat-cache on cacache — built by the file-engine issue; nothing here yet.
