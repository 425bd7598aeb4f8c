//! Placeholder (orakel pool CLI tests, written by the helper).
