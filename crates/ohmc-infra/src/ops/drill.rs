//! `ohmc-infra dr-drill ENV`: the environment's `drill {}` block turned into a
//! drill of its data stores (see the ohmc-drill crate for the drill itself).

use std::path::Path;
use std::time::Duration;

use ohmc_drill::DrillConfig;

use crate::environment::Environment;

#[derive(Debug, thiserror::Error)]
pub enum DrillSetupError {
    #[error("environment {env} has no `drill {{}}` block in {}; add one naming rds_instances and redis_replication_group (see environments/README.md)", .file.display())]
    NoDrillBlock {
        env: String,
        file: std::path::PathBuf,
    },
    #[error(
        "environment {env}: the drill block names no RDS instance and no Redis replication group"
    )]
    NothingToDrill { env: String },
}

#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    pub target_region: Option<String>,
    pub dry_run: bool,
    pub keep_for: Option<Duration>,
}

/// Maps the `drill {}` block and the command's flags into a drill configuration.
pub fn drill_config(
    env: &Environment,
    state_dir: &Path,
    opts: &DrillOptions,
) -> Result<DrillConfig, DrillSetupError> {
    let block = env
        .drill
        .as_ref()
        .ok_or_else(|| DrillSetupError::NoDrillBlock {
            env: env.name.clone(),
            file: env.file.clone(),
        })?;
    if block.rds_instances.is_empty() && block.redis_replication_group.is_none() {
        return Err(DrillSetupError::NothingToDrill {
            env: env.name.clone(),
        });
    }
    let mut config = DrillConfig::new(
        env.name.clone(),
        env.aws.region.clone(),
        state_dir.to_path_buf(),
    );
    config.rds_instances = block.rds_instances.clone();
    config.redis_replication_group = block.redis_replication_group.clone();
    if let Some(rto) = block.rto_target {
        config.rto_target = rto;
    }
    if let Some(rpo) = block.rpo_target {
        config.rpo_target = rpo;
    }
    if let Some(timeout) = block.timeout {
        config.timeout = timeout;
    }
    config.validation_command = block.validation_command.clone();
    config.redis_export_bucket = block.redis_export_bucket.clone();
    config.redis_import_bucket = block.redis_import_bucket.clone();
    config.target_region = opts.target_region.clone().filter(|r| *r != env.aws.region);
    config.dry_run = opts.dry_run;
    config.keep_for = opts.keep_for;
    Ok(config)
}
