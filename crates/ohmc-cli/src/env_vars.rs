//! Every environment variable ohmc-infra reads, in one place.

pub const ROOT: &str = "OHMC_ROOT";
pub const STATE_DIR: &str = "OHMC_STATE_DIR";
pub const TERRAFORM: &str = "OHMC_TERRAFORM";
pub const TF_CLI_CONFIG: &str = "OHMC_TF_CLI_CONFIG";
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
