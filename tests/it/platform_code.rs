//! Integration tests: platform_code.
