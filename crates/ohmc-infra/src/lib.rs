//! ohmc-infra
