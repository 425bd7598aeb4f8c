//! End-to-end tests: real anvil, real node processes.
