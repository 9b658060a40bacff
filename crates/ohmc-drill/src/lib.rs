//! ohmc-drill
