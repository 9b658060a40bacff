//! ohmc-terraform
