//! The command line: clap types only. Each subcommand's arguments live here;
//! what they do lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars;

#[derive(Debug, Parser)]
#[command(
    name = "ohmc-infra",
    version,
    about = "Plan, apply, verify, audit and drill the Oh My Coins infrastructure."
)]
#[command(
    after_help = "Exit codes: 0 success or no changes, 1 error, 2 changes present (plan, drift), 3 checks failed, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Repository root holding environments/ and terraform/ [default: nearest parent with environments/]
    #[arg(long, global = true, env = env_vars::ROOT, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// More detail (repeatable)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the result
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Private state: plan bundles, Terraform data, drill ledgers [default: ROOT/.ohmc]
    #[arg(long, global = true, env = env_vars::STATE_DIR, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The terraform binary [default: ROOT/.tools/bin/terraform, then PATH]
    #[arg(long, global = true, env = env_vars::TERRAFORM, value_name = "PATH")]
    pub terraform: Option<PathBuf>,
    /// Terraform CLI config file passed as TF_CLI_CONFIG_FILE [default: an empty one in the state dir]
    #[arg(long, global = true, env = env_vars::TF_CLI_CONFIG, value_name = "FILE")]
    pub tf_cli_config: Option<PathBuf>,
    /// How long to wait for a held state lock, e.g. 30s
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_lock_timeout)]
    pub lock_timeout: Option<std::time::Duration>,
    /// After Ctrl-C, how long Terraform gets to stop gracefully before escalation
    #[arg(long, global = true, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub grace_period: std::time::Duration,
    /// How many independent stacks run at once
    #[arg(long, global = true, value_name = "N", default_value_t = 4, value_parser = at_least_one)]
    pub parallelism: usize,
}

/// A count that must be at least 1: 0 would run nothing, or be silently taken as 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

/// `--lock-timeout`: Terraform's `-lock-timeout` is given whole seconds, so a duration
/// with a fraction of a second would be silently cut; and Go's durations end at about
/// 292 years.
fn parse_lock_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d =
        humantime::parse_duration(s).map_err(|e| format!("not a duration like 30s or 5m: {e}"))?;
    if d.subsec_nanos() != 0 {
        return Err("Terraform takes whole seconds; use e.g. 1s or 30s".into());
    }
    if d.as_secs() > i64::MAX as u64 / 1_000_000_000 {
        return Err("longer than Terraform can wait".into());
    }
    Ok(d)
}

/// A positive duration (`--keep-for 0s` would keep nothing while claiming to).
fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be greater than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("not a duration like 90s, 30m or 24h: {e}")),
    }
}

/// An AWS region name (`us-east-1`), checked before any call is built from it.
fn region(s: &str) -> Result<String, String> {
    if ohmc_infra::region::is_valid(s) {
        Ok(s.to_string())
    } else {
        Err("not an AWS region name like us-east-1".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Junit,
    Sarif,
    Prometheus,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the environments
    Envs,
    /// Create the environment's state bucket, KMS key and lock table (a new account's first step)
    Bootstrap(BootstrapArgs),
    /// Plan every stack of an environment into a private, reviewable bundle
    Plan(PlanArgs),
    /// Apply exactly a reviewed plan bundle
    Apply(ApplyArgs),
    /// List resources changed outside Terraform (refresh-only plan)
    Drift(EnvArg),
    /// Show stack outputs, sensitive values redacted
    Output(OutputArgs),
    /// Check the live AWS account against the stack's outputs and the environment
    Verify(VerifyArgs),
    /// Disaster-recovery drill: restore the data stores, measure RTO/RPO, clean up
    #[command(name = "dr-drill", args_conflicts_with_subcommands = true)]
    DrDrill(DrillArgs),
    /// Compliance audit of environments or accounts, across regions, with waivers and CI/Prometheus reports
    #[command(args_conflicts_with_subcommands = true)]
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct EnvArg {
    /// Environment name (see `ohmc-infra envs`)
    pub env: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 created, or everything exists as required; 2 with --dry-run, something would be \
created or updated; 1 an error, or a refusal (a bucket in another account, without versioning or encryption, \
a lock table with the wrong key): nothing is changed then."
)]
pub struct BootstrapArgs {
    pub env: String,
    /// Print what would be created; make read calls only
    #[arg(long)]
    pub dry_run: bool,
    /// AWS endpoint, e.g. an emulator at http://127.0.0.1:5000
    #[arg(long, env = env_vars::ENDPOINT_URL, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    pub env: String,
    /// Plan destroying every stack (applied in reverse dependency order)
    #[arg(long)]
    pub destroy: bool,
    /// Plan bundles of ENV to keep, the newest first; the one last applied is always kept too
    /// [default: `bundles { keep }` in environment.hcl, else 10]
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub keep_bundles: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    pub env: String,
    /// The plan bundle directory [default: the newest bundle of ENV]
    #[arg(long, value_name = "BUNDLE")]
    pub plan: Option<PathBuf>,
    /// Allow a plan that deletes or replaces resources
    #[arg(long)]
    pub allow_destroy: bool,
    /// Approve a protected environment's apply without a terminal: a prefix (8+ chars) of the bundle's sha256
    #[arg(long, value_name = "SHA256_PREFIX")]
    pub approve: Option<String>,
    /// Skip post-apply verification
    #[arg(long)]
    pub no_verify: bool,
    /// AWS endpoint for post-apply verification (an emulator)
    #[arg(long, env = env_vars::ENDPOINT_URL, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    pub env: String,
    /// Read stack outputs from this JSON file instead of Terraform state
    /// (`terraform output -json`, `ohmc-infra output --format json`, or a flat map)
    #[arg(long, value_name = "FILE")]
    pub outputs: Option<PathBuf>,
    /// AWS endpoint, e.g. an emulator at http://127.0.0.1:5000
    #[arg(long, env = env_vars::ENDPOINT_URL, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Only these areas (repeatable): dns, acm, waf, backup, config, guardduty, cloudtrail, rds, monitoring
    #[arg(long = "area", value_name = "AREA")]
    pub areas: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    pub env: String,
    /// Print sensitive values in clear
    #[arg(long)]
    pub show_sensitive: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every check passed (waivers honoured), 3 a check failed (or a waiver expired), \
1 an error: a check or a whole target could not be judged. An error wins over failures: a run that could not look \
everywhere is incomplete, whatever else it found.\n\n\
--outputs may hold {environment}, {account} and {region}, e.g. --outputs 'outputs/{environment}-{region}.json'."
)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// Environments to audit [default: every environment, unless --account or --discover-accounts is given]
    pub envs: Vec<String>,
    /// Also audit this AWS account (repeatable); with --role-name the role is assumed in it
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Also audit every ACTIVE account of the AWS Organization (Organizations ListAccounts)
    #[arg(long)]
    pub discover_accounts: bool,
    /// Role to assume in each --account / discovered account (arn:aws:iam::ID:role/NAME)
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// Audit in this region (repeatable) [default: each environment's region; required for accounts]
    #[arg(long = "region", value_name = "REGION", value_parser = region)]
    pub regions: Vec<String>,
    /// Stack outputs from a JSON file instead of Terraform state; may hold {environment}, {account}, {region}
    #[arg(long, value_name = "FILE")]
    pub outputs: Option<String>,
    /// Only checks whose id matches this glob (repeatable), e.g. 'cloudtrail.*'
    #[arg(long = "check", value_name = "GLOB")]
    pub checks: Vec<String>,
    /// Extra waivers file applied to every audited target (environments/ENV/waivers.hcl is always read)
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// A previous JSON report: list new, resolved and unchanged failures
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,
    /// Write every format here: audit.txt, audit.json, audit.junit.xml, audit.sarif, ohmc_compliance.prom, audit.md
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Push the Prometheus exposition to this Pushgateway (http://host:port)
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
    /// AWS endpoint, e.g. an emulator at http://127.0.0.1:5000
    #[arg(long, env = env_vars::ENDPOINT_URL, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS calls in flight per service, per account and region
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = at_least_one)]
    pub concurrency_per_service: usize,
    /// Accounts x regions audited at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = at_least_one)]
    pub max_targets: usize,
    /// Judge waiver expiry as of this date (YYYY-MM-DD) instead of today
    #[arg(long, value_name = "DATE", hide = true)]
    pub today: Option<chrono::NaiveDate>,
    /// Also enumerate every checked kind and judge what no stack output names (tagged unmanaged),
    /// plus the account-level controls. Targets without outputs are always discovered.
    #[arg(long)]
    pub discover: bool,
    /// Audit only shard K of N (K from 0, e.g. $(JOB_COMPLETION_INDEX)/4): targets split by a
    /// fixed hash of account and region; combine with `audit merge`
    #[arg(long, value_name = "K/N")]
    pub shard: Option<ohmc_audit::Shard>,
    /// The `audit {}` defaults discovery judges accounts against [default: ROOT/audit.hcl if present]
    #[arg(long, value_name = "FILE")]
    pub audit_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Combine the JSON reports of `audit --shard K/N` runs into one report, in every format
    Merge(AuditMergeArgs),
}

#[derive(Debug, Args)]
pub struct AuditMergeArgs {
    /// The shards' JSON reports (audit.json of each --output-dir, or --format json output)
    #[arg(value_name = "REPORT.json", required = true)]
    pub reports: Vec<PathBuf>,
    /// A previous JSON report: list new, resolved and unchanged failures of the merged run
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,
    /// Write every format here (as `audit --output-dir`)
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Push the merged run's metrics here (as `audit --pushgateway`); shards never push
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub action: Option<DrillAction>,
    /// Environment whose `drill {}` block names the data stores
    pub env: Option<String>,
    /// Restore into this region, copying the recovery points there first
    #[arg(long, value_name = "REGION", value_parser = region)]
    pub target_region: Option<String>,
    /// Print the actions it would take; call only read APIs
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the restored resources this long (clean up later with `dr-drill cleanup`)
    #[arg(long, value_name = "DURATION", value_parser = positive_duration)]
    pub keep_for: Option<std::time::Duration>,
    /// AWS endpoint, e.g. an emulator
    #[arg(long, global = true, env = env_vars::ENDPOINT_URL, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DrillAction {
    /// Finish an interrupted drill's cleanup from its ledger (all pending drills without an id)
    Cleanup {
        /// The drill id (see the ledger files under STATE_DIR/drills)
        drill_id: Option<String>,
        /// Without a drill id, also clean up drills kept with --keep-for whose time is not up
        #[arg(long)]
        include_kept: bool,
    },
}
