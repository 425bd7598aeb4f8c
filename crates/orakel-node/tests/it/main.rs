//! node integration tests
