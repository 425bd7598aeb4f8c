//! chain integration tests
