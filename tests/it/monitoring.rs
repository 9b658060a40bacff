//! Integration tests: monitoring.
