//! Integration tests: drill.
