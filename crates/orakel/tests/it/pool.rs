//! Placeholder (pool e2e, written by the lead).
