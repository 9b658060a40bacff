//! ohmc-checks
