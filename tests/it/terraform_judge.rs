//! Integration tests: Terraform itself judges `terraform/`.
//!
//! The real providers cannot be downloaded here; the schema stand-in
//! (`tests/aws-standin`, installed by `scripts/build-test-provider` into the
//! test mirror as hashicorp/aws 5.99.1, random 3.7.2 and tls 4.1.0) serves
//! their schemas, so the pinned Terraform 1.15.5 evaluates the real code:
//!
//! - `terraform validate` of every stack and every module: no error and no
//!   warning (deprecations included);
//! - `terraform test` of every stack's `tests/*.tftest.hcl`, once per
//!   environment with that environment's tfvars;
//! - every assertion of those suites has a negative case: a tfvars override
//!   or an edit of the code that breaks what it checks, and the suite, run
//!   with all of a stack's breaks applied, must report that assertion failed;
//! - the `variables` a suite feeds a module run with are those main.tf feeds
//!   the module with, so a suite cannot drift from the stack it judges.
//!
//! Each run works in a private copy of `terraform/`, `environments/` and
//! `deploy/iam/` (modules read the audit policy from there).

use crate::harness::fixture::{copy_dir, provider_cli_config};
use crate::harness::{repo_root, tool};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TERRAFORM: &str = "terraform-1.15.5";
const ENVIRONMENTS: [&str; 2] = ["staging", "production"];
const STACKS: [&str; 8] = [
    "state-bootstrap",
    "security-baseline",
    "network",
    "platform",
    "data",
    "dns",
    "edge",
    "iam",
];

// --- A private copy of the code and Terraform runs in it ---------------------

struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        let repo = repo_root();
        for part in ["terraform", "environments", "deploy/iam"] {
            copy_dir(&repo.join(part), &root.join(part));
        }
        // Leftovers of a developer's own runs must not leak into the copy.
        for leftover in crate::harness::files_under(&root.join("terraform"), &[".tfstate"]) {
            std::fs::remove_file(leftover).expect("removing a state file");
        }
        Workspace { _dir: dir, root }
    }

    fn dir(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn tfvars(&self, env: &str) -> PathBuf {
        self.root
            .join("environments")
            .join(env)
            .join("terraform.tfvars")
    }
}

struct Run {
    code: i32,
    output: String,
}

/// The pinned Terraform 1.15.5 with the test mirror's CLI config, no ambient
/// arguments or logging, output in files (no pipe can fill up) and a hard
/// timeout.
fn terraform(dir: &Path, args: &[&str]) -> Run {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out = scratch.path().join("out");
    let mut command = Command::new(tool(TERRAFORM));
    command
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", provider_cli_config())
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_LOG", "")
        .env_remove("TF_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("out file"))
        .stderr(File::create(scratch.path().join("err")).expect("err file"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TF_CLI_ARGS") {
            command.env_remove(key);
        }
    }
    let description = format!("terraform {} in {}", args.join(" "), dir.display());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {description}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out).expect("stdout");
    let stderr = std::fs::read_to_string(scratch.path().join("err")).expect("stderr");
    Run {
        code: status.code().unwrap_or(-1),
        output: format!("{stdout}\n{stderr}"),
    }
}

fn init(dir: &Path) {
    let run = terraform(
        dir,
        &["init", "-backend=false", "-input=false", "-no-color"],
    );
    assert_eq!(
        run.code,
        0,
        "terraform init in {} failed:\n{}",
        dir.display(),
        run.output
    );
}

/// `terraform test` of a stack with an environment's tfvars (and extra var
/// files after it).
fn terraform_test(dir: &Path, var_files: &[&Path]) -> Run {
    let mut args: Vec<String> = vec!["test".into(), "-no-color".into()];
    for file in var_files {
        args.push(format!("-var-file={}", file.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    terraform(dir, &args)
}

// --- validate ------------------------------------------------------------------

/// A module that takes aliased providers (`configuration_aliases`) cannot be
/// a root module as it is: Terraform wants the aliases configured. This
/// writes the empty provider blocks a caller would pass.
fn configure_aliases(module: &Path) {
    let versions = std::fs::read_to_string(module.join("versions.tf")).unwrap_or_default();
    let aliases = Regex::new(r"configuration_aliases\s*=\s*\[([^\]]*)\]").unwrap();
    let mut blocks = String::new();
    for found in aliases.captures_iter(&versions) {
        for alias in found[1].split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let (provider, name) = alias.split_once('.').expect("provider.alias");
            blocks.push_str(&format!(
                "provider \"{provider}\" {{\n  alias = \"{name}\"\n}}\n"
            ));
        }
    }
    if !blocks.is_empty() {
        std::fs::write(module.join("judge_aliases.tf"), blocks).expect("writing aliases");
    }
}

fn roots(workspace: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for kind in ["stacks", "modules"] {
        let mut names: Vec<String> = std::fs::read_dir(workspace.dir(&format!("terraform/{kind}")))
            .expect("listing terraform/")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| format!("terraform/{kind}/{n}")));
    }
    out
}

#[test]
fn validate_is_clean_for_every_stack_and_module_with_no_deprecation() {
    let workspace = Workspace::new();
    let all = roots(&workspace);
    assert!(all.len() >= 7 + 14, "stacks and modules found: {all:?}");
    let mut failures = Vec::new();
    for root in &all {
        let dir = workspace.dir(root);
        configure_aliases(&dir);
        init(&dir);
        // -no-tests: the suites are judged by `terraform test` below. Terraform
        // 1.15.5's validate of a suite reports "missing provider aws.dr" for
        // a run block that maps aliased providers into a module declaring
        // configuration_aliases (data's backup run), which `terraform test`
        // itself runs fine.
        let run = terraform(&dir, &["validate", "-json", "-no-color", "-no-tests"]);
        let report: serde_json::Value = match serde_json::from_str(run.output.trim()) {
            Ok(v) => v,
            // stderr joined after stdout: take the JSON document only.
            Err(_) => serde_json::from_str(run.output.split("\n\n").next().unwrap_or(""))
                .unwrap_or_else(|e| {
                    panic!(
                        "validate -json of {root} is not JSON ({e}):\n{}",
                        run.output
                    )
                }),
        };
        let clean = run.code == 0
            && report["valid"] == true
            && report["error_count"] == 0
            && report["warning_count"] == 0;
        if !clean {
            let messages: Vec<String> = report["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| format!("{}: {} {}", d["severity"], d["summary"], d["detail"]))
                .collect();
            failures.push(format!("{root}:\n  {}", messages.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "terraform validate is not clean:\n{}",
        failures.join("\n")
    );
}

/// The judge has teeth: the stand-in's schema makes Terraform refuse what
/// the real provider refuses.
#[test]
fn validate_refuses_an_unknown_argument_a_missing_required_block_and_a_wrong_type() {
    let workspace = Workspace::new();
    let dir = workspace.dir("terraform/judge-probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        r#"terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.99.1" }
  }
}

resource "aws_s3_bucket" "typo" {
  buckett = "x"
}

resource "aws_backup_plan" "no_rule" {
  name = "x"
}

resource "aws_db_instance" "wrong_type" {
  instance_class    = "db.t4g.micro"
  allocated_storage = "fifty"
}
"#,
    )
    .unwrap();
    init(&dir);
    let run = terraform(&dir, &["validate", "-no-color"]);
    assert_eq!(run.code, 1, "{}", run.output);
    for expected in [
        "An argument named \"buckett\" is not expected here",
        "Insufficient rule blocks",
        "a number is required",
    ] {
        assert!(
            run.output.contains(expected),
            "validate should say {expected:?}:\n{}",
            run.output
        );
    }
}

// --- terraform test, positive -------------------------------------------------

#[test]
fn terraform_test_passes_for_every_stack_in_every_environment() {
    let workspace = Workspace::new();
    let mut failures = Vec::new();
    for stack in STACKS {
        let dir = workspace.dir(&format!("terraform/stacks/{stack}"));
        assert!(
            !crate::harness::files_under(&dir.join("tests"), &[".tftest.hcl"]).is_empty(),
            "the {stack} stack has no terraform test suite"
        );
        init(&dir);
        for env in ENVIRONMENTS {
            let run = terraform_test(&dir, &[&workspace.tfvars(env)]);
            let passed = run.code == 0 && run.output.contains("Success!");
            if !passed || run.output.contains("Warning:") {
                failures.push(format!("{stack} with {env}'s tfvars:\n{}", run.output));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// --- terraform test, negative ----------------------------------------------------

/// What breaks an assertion: a variable override for the environment, or an
/// edit of the code (for what no variable controls). `from` must occur
/// exactly once, so an edit can never silently do nothing.
enum Break {
    Var {
        name: &'static str,
        staging: &'static str,
        production: &'static str,
    },
    Edit {
        file: &'static str,
        from: &'static str,
        to: &'static str,
    },
}

use Break::{Edit, Var};

/// One assertion (the id its error message starts with) and what breaks it.
struct Negative {
    stack: &'static str,
    assertion: &'static str,
    breaks: &'static [Break],
}

const fn flip(name: &'static str) -> Break {
    Var {
        name,
        staging: "true",
        production: "false",
    }
}

const fn set(name: &'static str, value: &'static str) -> Break {
    Var {
        name,
        staging: value,
        production: value,
    }
}

const RDS: &str = "terraform/modules/rds/main.tf";
const REDIS: &str = "terraform/modules/redis/main.tf";
const BACKUP: &str = "terraform/modules/backup/main.tf";
const EDGE: &str = "terraform/modules/edge/main.tf";
const EKS: &str = "terraform/modules/eks/main.tf";
const NETWORK: &str = "terraform/modules/network/main.tf";
const BASELINE: &str = "terraform/modules/security-baseline/main.tf";
const STATE: &str = "terraform/modules/state-bootstrap/main.tf";
const IAM: &str = "terraform/modules/iam/main.tf";
const DNS: &str = "terraform/modules/dns/main.tf";

#[rustfmt::skip]
const NEGATIVES: &[Negative] = &[
    // state-bootstrap
    Negative { stack: "state-bootstrap", assertion: "state.bucket", breaks: &[Edit { file: STATE, from: "bucket        = var.state_bucket_name\n  force_destroy = false", to: "bucket        = var.state_bucket_name\n  force_destroy = true" }] },
    Negative { stack: "state-bootstrap", assertion: "state.lock_table", breaks: &[Edit { file: STATE, from: "deletion_protection_enabled = true", to: "deletion_protection_enabled = false" }] },
    Negative { stack: "state-bootstrap", assertion: "state.lock_table_pitr", breaks: &[Edit { file: STATE, from: "point_in_time_recovery {\n    enabled = true", to: "point_in_time_recovery {\n    enabled = false" }] },
    Negative { stack: "state-bootstrap", assertion: "state.lock_table_kms", breaks: &[Edit { file: STATE, from: "server_side_encryption {\n    enabled     = true", to: "server_side_encryption {\n    enabled     = false" }] },
    // network
    Negative { stack: "network", assertion: "network.three_azs", breaks: &[Edit { file: NETWORK, from: "az_count  = length(var.availability_zones)", to: "az_count  = 2" }] },
    Negative { stack: "network", assertion: "network.nat_per_env", breaks: &[Var { name: "single_nat_gateway", staging: "false", production: "true" }] },
    Negative { stack: "network", assertion: "sg.default_closed", breaks: &[Edit { file: NETWORK, from: "resource \"aws_default_security_group\" \"this\" {\n  vpc_id = aws_vpc.this.id\n", to: "resource \"aws_default_security_group\" \"this\" {\n  vpc_id = aws_vpc.this.id\n  ingress {\n    protocol    = \"-1\"\n    from_port   = 0\n    to_port     = 0\n    cidr_blocks = [\"0.0.0.0/0\"]\n  }\n" }] },
    Negative { stack: "network", assertion: "network.flow_logs", breaks: &[Edit { file: NETWORK, from: "traffic_type             = \"ALL\"", to: "traffic_type             = \"REJECT\"" }] },
    Negative { stack: "network", assertion: "network.private_subnets", breaks: &[Edit { file: NETWORK, from: "cidr_block        = local.private_cidrs[count.index]\n", to: "cidr_block        = local.private_cidrs[count.index]\n  map_public_ip_on_launch = true\n" }] },
    // security-baseline
    Negative { stack: "security-baseline", assertion: "cloudtrail.data_events", breaks: &[Edit { file: BASELINE, from: "equals = [\"AWS::Lambda::Function\"]", to: "equals = [\"AWS::DynamoDB::Table\"]" }] },
    Negative { stack: "security-baseline", assertion: "cloudtrail.multi_region_logging", breaks: &[Edit { file: BASELINE, from: "is_multi_region_trail         = true", to: "is_multi_region_trail         = false" }] },
    Negative { stack: "security-baseline", assertion: "cloudtrail.log_file_validation", breaks: &[Edit { file: BASELINE, from: "enable_log_file_validation    = true", to: "enable_log_file_validation    = false" }] },
    Negative { stack: "security-baseline", assertion: "cloudtrail.kms_encrypted", breaks: &[Edit { file: BASELINE, from: "kms_key_id                    = module.security_key.arn", to: "kms_key_id                    = null" }] },
    Negative { stack: "security-baseline", assertion: "cloudtrail.cloudwatch_logs", breaks: &[Edit { file: BASELINE, from: "cloud_watch_logs_group_arn    = \"${aws_cloudwatch_log_group.cloudtrail.arn}:*\"", to: "cloud_watch_logs_group_arn    = null" }] },
    Negative { stack: "security-baseline", assertion: "cloudtrail.logging_on", breaks: &[Edit { file: BASELINE, from: "enable_logging                = true", to: "enable_logging                = false" }] },
    Negative { stack: "security-baseline", assertion: "config.recorder_all_resources", breaks: &[Edit { file: BASELINE, from: "include_global_resource_types = true", to: "include_global_resource_types = false" }] },
    Negative { stack: "security-baseline", assertion: "config.delivery_channel", breaks: &[Edit { file: BASELINE, from: "is_enabled = true", to: "is_enabled = false" }] },
    Negative { stack: "security-baseline", assertion: "config.required_rules_exist", breaks: &[Edit { file: "terraform/modules/security-baseline/variables.tf", from: "\"cloudtrail-enabled\"", to: "\"cloudtrail-enabled-renamed\"" }] },
    Negative { stack: "security-baseline", assertion: "guardduty.detector_enabled", breaks: &[set("guardduty_finding_frequency", "\"SIX_HOURS\"")] },
    Negative { stack: "security-baseline", assertion: "guardduty.protection_features", breaks: &[Edit { file: BASELINE, from: "\"S3_DATA_EVENTS\", \"EBS_MALWARE_PROTECTION\"]", to: "\"S3_DATA_EVENTS\"]" }] },
    Negative { stack: "security-baseline", assertion: "guardduty.findings_to_sns", breaks: &[Edit { file: BASELINE, from: "rule      = aws_cloudwatch_event_rule.guardduty_findings.name\n  target_id = \"security-findings-topic\"\n  arn       = aws_sns_topic.security_findings.arn", to: "rule      = aws_cloudwatch_event_rule.guardduty_findings.name\n  target_id = \"security-findings-topic\"\n  arn       = aws_sns_topic.cloudtrail.arn" }] },
    Negative { stack: "security-baseline", assertion: "securityhub.enabled", breaks: &[set("enable_security_hub", "false")] },
    // platform
    Negative { stack: "platform", assertion: "eks.standard_support", breaks: &[set("kubernetes_version", "\"1.31\"")] },
    Negative { stack: "platform", assertion: "eks.private_endpoint", breaks: &[Edit { file: EKS, from: "endpoint_private_access = true", to: "endpoint_private_access = false" }] },
    Negative { stack: "platform", assertion: "eks.public_endpoint_per_env", breaks: &[Var { name: "eks_endpoint_public_access", staging: "false", production: "true" }] },
    Negative { stack: "platform", assertion: "eks.public_cidrs_restricted", breaks: &[Edit { file: EKS, from: "public_access_cidrs     = var.endpoint_public_access ? var.public_access_cidrs : []", to: "public_access_cidrs     = [\"10.0.0.0/8\"]" }] },
    Negative { stack: "platform", assertion: "eks.secrets_encrypted", breaks: &[Edit { file: EKS, from: "resources = [\"secrets\"]", to: "resources = [\"configmaps\"]" }] },
    Negative { stack: "platform", assertion: "eks.control_plane_logs", breaks: &[Edit { file: EKS, from: "[\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"]", to: "[\"api\"]" }] },
    Negative { stack: "platform", assertion: "eks.imdsv2_only", breaks: &[Edit { file: EKS, from: "http_tokens                 = \"required\"", to: "http_tokens                 = \"optional\"" }] },
    Negative { stack: "platform", assertion: "eks.node_volumes_encrypted", breaks: &[Edit { file: EKS, from: "encrypted             = true", to: "encrypted             = false" }] },
    Negative { stack: "platform", assertion: "k8s.network_policies_enforced", breaks: &[Edit { file: EKS, from: "enableNetworkPolicy = \"true\"", to: "enableNetworkPolicy = \"false\"" }] },
    Negative { stack: "platform", assertion: "eks.access_entries", breaks: &[Edit { file: EKS, from: "authentication_mode                         = \"API\"", to: "authentication_mode                         = \"API_AND_CONFIG_MAP\"" }] },
    // data
    Negative { stack: "data", assertion: "data.outputs", breaks: &[Edit { file: "terraform/stacks/data/main.tf", from: "\"${local.name}-postgres\"", to: "\"${local.name}-pg\"" }] },
    Negative { stack: "data", assertion: "data.backup_vault_output", breaks: &[Edit { file: BACKUP, from: "name        = \"${var.name}-vault\"", to: "name        = \"${var.name}-backups\"" }] },
    Negative { stack: "data", assertion: "rds.deletion_protection", breaks: &[flip("rds_deletion_protection")] },
    Negative { stack: "data", assertion: "rds.multi_az", breaks: &[flip("rds_multi_az")] },
    Negative { stack: "data", assertion: "rds.backup_retention", breaks: &[set("rds_backup_retention_days", "14")] },
    Negative { stack: "data", assertion: "rds.storage_encrypted", breaks: &[Edit { file: RDS, from: "storage_encrypted     = true", to: "storage_encrypted     = false" }] },
    Negative { stack: "data", assertion: "rds.storage_kms_key", breaks: &[Edit { file: RDS, from: "kms_key_id            = module.rds_key.arn", to: "kms_key_id            = null" }] },
    Negative { stack: "data", assertion: "rds.not_public", breaks: &[Edit { file: RDS, from: "publicly_accessible    = false", to: "publicly_accessible    = true" }] },
    Negative { stack: "data", assertion: "rds.final_snapshot", breaks: &[Edit { file: RDS, from: "skip_final_snapshot       = false", to: "skip_final_snapshot       = true" }] },
    Negative { stack: "data", assertion: "rds.force_ssl", breaks: &[Edit { file: RDS, from: "name  = \"rds.force_ssl\"\n    value = \"1\"", to: "name  = \"rds.force_ssl\"\n    value = \"0\"" }] },
    Negative { stack: "data", assertion: "rds.copy_tags", breaks: &[Edit { file: RDS, from: "copy_tags_to_snapshot     = true", to: "copy_tags_to_snapshot     = false" }] },
    Negative { stack: "data", assertion: "sg.rds_from_nodes_only", breaks: &[Edit { file: RDS, from: "from_port                    = 5432", to: "from_port                    = 0" }] },
    Negative { stack: "data", assertion: "sg.redis_from_nodes_only", breaks: &[Edit { file: REDIS, from: "from_port                    = 6379", to: "from_port                    = 0" }] },
    Negative { stack: "data", assertion: "redis.encryption", breaks: &[Edit { file: REDIS, from: "transit_encryption_enabled = true", to: "transit_encryption_enabled = false" }] },
    Negative { stack: "data", assertion: "redis.multi_az_failover", breaks: &[Edit { file: REDIS, from: "multi_az_enabled           = true", to: "multi_az_enabled           = false" }] },
    Negative { stack: "data", assertion: "redis.snapshot_retention", breaks: &[set("redis_snapshot_retention_days", "1")] },
    Negative { stack: "data", assertion: "redis.nodes", breaks: &[set("redis_num_cache_clusters", "5")] },
    Negative { stack: "data", assertion: "backup.plan_rules", breaks: &[set("backup_weekly_retention_days", "60")] },
    Negative { stack: "data", assertion: "backup.vault_encrypted", breaks: &[Edit { file: BACKUP, from: "kms_key_arn = module.vault_key.arn", to: "kms_key_arn = null" }] },
    Negative { stack: "data", assertion: "backup.cross_region_copy", breaks: &[flip("backup_cross_region_copy")] },
    // Locked in both environments, twice: the count is wrong in each, and
    // a lock exists for backup.vault_lock_governance to judge in each.
    Negative { stack: "data", assertion: "backup.vault_lock", breaks: &[set("backup_vault_lock", "true"), Edit { file: BACKUP, from: "count = var.enable_vault_lock ? 1 : 0", to: "count = var.enable_vault_lock ? 2 : 0" }] },
    Negative { stack: "data", assertion: "backup.vault_lock_governance", breaks: &[set("backup_vault_lock_mode", "\"compliance\"")] },
    Negative { stack: "data", assertion: "backup.dr_vault", breaks: &[flip("backup_cross_region_copy")] },
    Negative { stack: "data", assertion: "backup.selection_by_tag", breaks: &[Edit { file: BACKUP, from: "type  = \"STRINGEQUALS\"", to: "type  = \"STRINGLIKE\"" }] },
    // dns
    Negative { stack: "dns", assertion: "dns.hosted_zone", breaks: &[Edit { file: DNS, from: "name    = var.zone_name", to: "name    = \"example.org\"" }] },
    Negative { stack: "dns", assertion: "dns.ns_delegation", breaks: &[Edit { file: DNS, from: "type    = \"NS\"", to: "type    = \"CNAME\"" }, set("dns_delegated_subdomains", "{}")] },
    // edge
    Negative { stack: "edge", assertion: "waf.web_acl_associated", breaks: &[Edit { file: EDGE, from: "resource_arn = aws_lb.this.arn", to: "resource_arn = aws_lb_target_group.backend.arn" }] },
    Negative { stack: "edge", assertion: "waf.managed_rule_groups", breaks: &[Edit { file: EDGE, from: "name        = \"AWSManagedRulesAnonymousIpList\"", to: "name        = \"AWSManagedRulesBotControlRuleSet\"" }] },
    Negative { stack: "edge", assertion: "waf.rate_based_rule", breaks: &[set("waf_rate_limit", "5000")] },
    Negative { stack: "edge", assertion: "waf.cloudwatch_metrics", breaks: &[Edit { file: EDGE, from: "cloudwatch_metrics_enabled = true\n      metric_name                = \"${var.name}-rate-limit-per-ip\"", to: "cloudwatch_metrics_enabled = false\n      metric_name                = \"${var.name}-rate-limit-per-ip\"" }] },
    Negative { stack: "edge", assertion: "waf.logging_enabled", breaks: &[Edit { file: EDGE, from: "name              = \"aws-waf-logs-${var.name}\"", to: "name              = \"waf-logs-${var.name}\"" }] },
    Negative { stack: "edge", assertion: "alb.deletion_protection", breaks: &[flip("alb_deletion_protection")] },
    Negative { stack: "edge", assertion: "alb.hardening", breaks: &[Edit { file: EDGE, from: "drop_invalid_header_fields = true", to: "drop_invalid_header_fields = false" }] },
    Negative { stack: "edge", assertion: "acm.tls_policy", breaks: &[Edit { file: EDGE, from: "ssl_policy        = var.ssl_policy", to: "ssl_policy        = \"ELBSecurityPolicy-2016-08\"" }] },
    Negative { stack: "edge", assertion: "acm.certificate_in_use_by_listener", breaks: &[Edit { file: EDGE, from: "certificate_arn   = aws_acm_certificate_validation.this.certificate_arn", to: "certificate_arn   = \"arn:aws:acm:us-east-1:123456789012:certificate/another\"" }] },
    Negative { stack: "edge", assertion: "alb.http_redirects_only", breaks: &[Edit { file: EDGE, from: "protocol    = \"HTTPS\"\n      status_code", to: "protocol    = \"HTTP\"\n      status_code" }] },
    Negative { stack: "edge", assertion: "acm.certificate_issued_covers_names", breaks: &[Edit { file: EDGE, from: "validation_method         = \"DNS\"", to: "validation_method         = \"EMAIL\"" }] },
    Negative { stack: "edge", assertion: "acm.dns_validated_in_zone", breaks: &[Edit { file: EDGE, from: "zone_id         = var.zone_id", to: "zone_id         = \"Z0ANOTHERZONE\"" }] },
    Negative { stack: "edge", assertion: "dns.alias_targets_alb", breaks: &[Edit { file: EDGE, from: "type    = \"A\"", to: "type    = \"AAAA\"" }] },
    Negative { stack: "edge", assertion: "sg.alb_internet_only_443_80", breaks: &[Edit { file: EDGE, from: "from_port         = 443", to: "from_port         = 0" }] },
    Negative { stack: "edge", assertion: "sg.alb_egress_vpc_only", breaks: &[Edit { file: EDGE, from: "cidr_ipv4         = var.vpc_cidr_block", to: "cidr_ipv4         = \"0.0.0.0/0\"" }] },
    Negative { stack: "edge", assertion: "sg.targets_from_alb_only", breaks: &[Edit { file: EDGE, from: "referenced_security_group_id = aws_security_group.alb.id", to: "cidr_ipv4                    = \"0.0.0.0/0\"" }] },
    // iam
    Negative { stack: "iam", assertion: "iam.deploy_trust_scoped", breaks: &[Edit { file: IAM, from: "\"repo:${repo}:environment:${var.github_environment}\"", to: "\"repo:${repo}:*\"" }] },
    Negative { stack: "iam", assertion: "iam.deploy_session_short", breaks: &[Edit { file: IAM, from: "assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json\n  max_session_duration = 3600", to: "assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json\n  max_session_duration = 43200" }] },
    Negative { stack: "iam", assertion: "iam.deploy_namespaced", breaks: &[Edit { file: IAM, from: "type       = \"namespace\"", to: "type       = \"cluster\"" }] },
];

/// Every assertion's id (the error message up to its first colon), per stack.
fn assertion_ids(stack_dir: &Path) -> Vec<String> {
    let message = Regex::new(r#"error_message\s*=\s*"([a-z0-9_.-]+):"#).unwrap();
    let mut ids = Vec::new();
    for file in crate::harness::files_under(&stack_dir.join("tests"), &[".tftest.hcl"]) {
        let text = std::fs::read_to_string(&file).unwrap();
        ids.extend(message.captures_iter(&text).map(|c| c[1].to_owned()));
    }
    ids
}

#[test]
fn the_suites_assert_at_least_forty_facts_each_with_a_negative_case() {
    let repo = repo_root();
    let mut total = 0;
    let mut missing = Vec::new();
    for stack in STACKS {
        let ids = assertion_ids(&repo.join("terraform/stacks").join(stack));
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "{stack}: assertion ids repeat: {ids:?}"
        );
        total += ids.len();
        for id in &ids {
            if !NEGATIVES
                .iter()
                .any(|n| n.stack == stack && n.assertion == id)
            {
                missing.push(format!("{stack}: {id}"));
            }
        }
        for negative in NEGATIVES.iter().filter(|n| n.stack == stack) {
            assert!(
                ids.iter().any(|id| id == negative.assertion),
                "{stack}: the negative case {} names no assertion",
                negative.assertion
            );
        }
    }
    assert!(total >= 40, "only {total} assertions");
    assert!(
        missing.is_empty(),
        "assertions without a negative case: {missing:?}"
    );
}

/// terraform/README.md's checklist names every assertion of the suites.
#[test]
fn the_readme_checklist_names_every_assertion() {
    let readme = std::fs::read_to_string(repo_root().join("terraform/README.md")).unwrap();
    let table: String = readme
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for stack in STACKS {
        for id in assertion_ids(&repo_root().join("terraform/stacks").join(stack)) {
            if !table.contains(&format!("`{id}`")) {
                missing.push(format!("{stack}: {id}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "terraform/README.md's checklist does not name: {missing:?}"
    );
}

fn apply_breaks(workspace: &Workspace, stack: &str, env: &str) -> PathBuf {
    let mut overrides: BTreeMap<&str, &str> = BTreeMap::new();
    for negative in NEGATIVES.iter().filter(|n| n.stack == stack) {
        for b in negative.breaks {
            match b {
                Var {
                    name,
                    staging,
                    production,
                } => {
                    let value = if env == "production" {
                        production
                    } else {
                        staging
                    };
                    if let Some(previous) = overrides.insert(name, value) {
                        assert_eq!(previous, *value, "{stack}: {name} is broken two ways");
                    }
                }
                Edit { file, from, to } => {
                    let path = workspace.dir(file);
                    let text = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("reading {file}: {e}"));
                    if text.contains(to) && !text.contains(from) {
                        continue; // a break shared by two negative cases
                    }
                    assert_eq!(
                        text.matches(from).count(),
                        1,
                        "{stack}/{}: {file} must contain exactly once: {from}",
                        negative.assertion
                    );
                    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
                }
            }
        }
    }
    let file = workspace.root.join(format!("broken-{stack}-{env}.tfvars"));
    let body: String = overrides
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    std::fs::write(&file, body).unwrap();
    file
}

#[test]
fn every_assertion_fails_when_what_it_checks_is_broken() {
    let mut failures = Vec::new();
    for stack in STACKS {
        for env in ENVIRONMENTS {
            // A fresh copy per stack and environment: edits touch shared modules.
            let workspace = Workspace::new();
            let broken = apply_breaks(&workspace, stack, env);
            let dir = workspace.dir(&format!("terraform/stacks/{stack}"));
            init(&dir);
            let run = terraform_test(&dir, &[&workspace.tfvars(env), &broken]);
            if run.code == 0 {
                failures.push(format!("{stack}/{env}: the broken suite passed"));
                continue;
            }
            for negative in NEGATIVES.iter().filter(|n| n.stack == stack) {
                let reported = format!("{}:", negative.assertion);
                if !run.output.contains(&reported) {
                    failures.push(format!(
                        "{stack}/{env}: {} did not fail:\n{}",
                        negative.assertion, run.output
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// --- the suites feed modules as the stacks do --------------------------------

/// `name = var.x` arguments of each `module "..."` block of a stack's main.tf,
/// keyed by the module's source directory.
fn stack_var_arguments(main_tf: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let block = Regex::new(r#"(?ms)^module "[^"]+" \{\n(.*?)^\}"#).unwrap();
    let source = Regex::new(r#"source\s*=\s*"\.\./\.\./modules/([^"]+)""#).unwrap();
    let argument = Regex::new(r"(?m)^  (\w+)\s*=\s*(var\.\w+)\s*$").unwrap();
    let mut out = BTreeMap::new();
    for m in block.captures_iter(main_tf) {
        let body = &m[1];
        let Some(src) = source.captures(body) else {
            continue;
        };
        let args = argument
            .captures_iter(body)
            .map(|a| (a[1].to_owned(), a[2].to_owned()))
            .collect();
        out.insert(src[1].to_owned(), args);
    }
    out
}

/// The `variables` of each run block that tests a module, keyed by source.
fn suite_module_runs(suite: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let run = Regex::new(r#"(?ms)^run "[^"]+" \{\n(.*?)^\}"#).unwrap();
    let source = Regex::new(r#"source\s*=\s*"\.\./\.\./modules/([^"]+)""#).unwrap();
    let variables = Regex::new(r"(?ms)^  variables \{\n(.*?)^  \}").unwrap();
    let argument = Regex::new(r"(?m)^    (\w+)\s*=\s*(.+?)\s*$").unwrap();
    let mut out = BTreeMap::new();
    for m in run.captures_iter(suite) {
        let body = &m[1];
        let Some(src) = source.captures(body) else {
            continue;
        };
        let args = variables
            .captures(body)
            .map(|v| {
                argument
                    .captures_iter(&v[1])
                    .map(|a| (a[1].to_owned(), a[2].to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(src[1].to_owned(), args);
    }
    out
}

#[test]
fn each_module_run_is_fed_the_variables_its_stack_passes() {
    let repo = repo_root();
    let mut problems = Vec::new();
    let mut compared = 0;
    for stack in STACKS {
        let dir = repo.join("terraform/stacks").join(stack);
        let main_tf = std::fs::read_to_string(dir.join("main.tf")).unwrap();
        let stack_args = stack_var_arguments(&main_tf);
        for file in crate::harness::files_under(&dir.join("tests"), &[".tftest.hcl"]) {
            let suite = std::fs::read_to_string(&file).unwrap();
            for (module, run_args) in suite_module_runs(&suite) {
                let Some(expected) = stack_args.get(&module) else {
                    problems.push(format!(
                        "{stack}: a run tests modules/{module}, which main.tf does not call"
                    ));
                    continue;
                };
                for (name, value) in expected {
                    compared += 1;
                    match run_args.get(name) {
                        Some(given) if given == value => {}
                        Some(given) => problems.push(format!(
                            "{stack}: modules/{module}.{name} is {value} in main.tf but {given} in the suite"
                        )),
                        None => problems.push(format!(
                            "{stack}: modules/{module}.{name} = {value} in main.tf is not fed by the suite"
                        )),
                    }
                }
            }
        }
    }
    assert!(compared >= 20, "only {compared} arguments compared");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_wiring_check_sees_a_suite_that_drifts_from_main_tf() {
    let main_tf =
        "module \"rds\" {\n  source = \"../../modules/rds\"\n\n  multi_az = var.rds_multi_az\n}\n";
    let suite = "run \"rds\" {\n  module {\n    source = \"../../modules/rds\"\n  }\n\n  variables {\n    multi_az = true\n  }\n}\n";
    let stack = stack_var_arguments(main_tf);
    let runs = suite_module_runs(suite);
    assert_eq!(stack["rds"]["multi_az"], "var.rds_multi_az");
    assert_eq!(runs["rds"]["multi_az"], "true");
}

// --- the schema the stand-in serves --------------------------------------------

/// Facts of the real hashicorp/aws 5.99.1 (and random, tls) schemas, as
/// `terraform providers schema -json` writes them, that the generated file
/// must keep. The issue's own examples are here; note that the real
/// `aws_db_instance.engine` is optional and computed (it may come from a
/// snapshot or a source database), so the required string of that resource
/// is `instance_class`.
#[test]
fn the_generated_schema_holds_facts_of_the_real_provider() {
    let text = std::fs::read_to_string(repo_root().join("terraform/schema/providers-schema.json"))
        .expect("terraform/schema/providers-schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    assert_eq!(schema["format_version"], "1.0");
    let aws = &schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"];
    let resource = |t: &str| &aws["resource_schemas"][t]["block"];
    let data = |t: &str| &aws["data_source_schemas"][t]["block"];

    let rule = &resource("aws_backup_plan")["block_types"]["rule"];
    assert_eq!(
        rule["nesting_mode"], "set",
        "aws_backup_plan.rule is a set block"
    );
    assert_eq!(rule["min_items"], 1, "a backup plan needs a rule");
    let lifecycle = &rule["block"]["block_types"]["lifecycle"];
    assert_eq!(
        (&lifecycle["nesting_mode"], &lifecycle["max_items"]),
        (&"list".into(), &1.into())
    );

    let db = resource("aws_db_instance");
    assert_eq!(db["attributes"]["instance_class"]["type"], "string");
    assert_eq!(db["attributes"]["instance_class"]["required"], true);
    assert_eq!(db["attributes"]["engine"]["type"], "string");
    assert_eq!(
        (
            &db["attributes"]["engine"]["optional"],
            &db["attributes"]["engine"]["computed"]
        ),
        (&true.into(), &true.into())
    );
    assert_eq!(db["attributes"]["password"]["sensitive"], true);

    let bucket = resource("aws_s3_bucket");
    assert_eq!(bucket["attributes"]["arn"]["type"], "string");
    assert_eq!(bucket["attributes"]["arn"]["computed"], true);
    assert!(
        bucket["attributes"]["arn"].get("optional").is_none(),
        "arn is computed only"
    );
    assert_eq!(
        bucket["attributes"]["tags"]["type"],
        serde_json::json!(["map", "string"])
    );
    assert_eq!(bucket["attributes"]["tags_all"]["computed"], true);

    // max_items = 1 blocks: a list of at most one (SDKv2), required ones at
    // least one; timeouts are single blocks.
    let eks = resource("aws_eks_cluster");
    let vpc = &eks["block_types"]["vpc_config"];
    assert_eq!(
        (&vpc["nesting_mode"], &vpc["max_items"], &vpc["min_items"]),
        (&"list".into(), &1.into(), &1.into())
    );
    assert_eq!(eks["block_types"]["encryption_config"]["max_items"], 1);
    assert!(eks["block_types"]["encryption_config"]
        .get("min_items")
        .is_none());
    assert_eq!(eks["block_types"]["timeouts"]["nesting_mode"], "single");
    assert_eq!(
        eks["attributes"]["identity"]["type"][0], "list",
        "a computed list of objects"
    );
    assert_eq!(eks["attributes"]["identity"]["computed"], true);

    // Attributes written as blocks (SDKv2 ConfigModeAttr) are attributes.
    let sg = resource("aws_security_group");
    assert_eq!(sg["attributes"]["ingress"]["type"][0], "set");
    assert!(sg["block_types"].get("ingress").is_none());

    let policy = data("aws_iam_policy_document");
    assert_eq!(policy["block_types"]["statement"]["nesting_mode"], "list");
    assert_eq!(
        policy["block_types"]["statement"]["block"]["block_types"]["principals"]["nesting_mode"],
        "set"
    );
    assert_eq!(policy["attributes"]["json"]["computed"], true);
    assert_eq!(
        data("aws_caller_identity")["attributes"]["account_id"]["computed"],
        true
    );

    // The hand-written WAFv2 statement (cdktf types it `any`).
    let waf_rule = &resource("aws_wafv2_web_acl")["block_types"]["rule"];
    assert_eq!(waf_rule["nesting_mode"], "set");
    assert_eq!(
        waf_rule["block"]["block_types"]["statement"]["min_items"],
        1
    );

    let random = &schema["provider_schemas"]["registry.terraform.io/hashicorp/random"];
    assert_eq!(
        random["resource_schemas"]["random_password"]["block"]["attributes"]["result"]["sensitive"],
        true
    );
    assert_eq!(
        random["resource_schemas"]["random_password"]["block"]["attributes"]["length"]["required"],
        true
    );
    let tls = &schema["provider_schemas"]["registry.terraform.io/hashicorp/tls"];
    assert_eq!(
        tls["data_source_schemas"]["tls_certificate"]["block"]["attributes"]["certificates"]
            ["computed"],
        true
    );

    let provider = &aws["provider"]["block"];
    assert_eq!(
        provider["attributes"]["allowed_account_ids"]["type"],
        serde_json::json!(["set", "string"])
    );
    assert_eq!(
        provider["block_types"]["default_tags"]["nesting_mode"],
        "list"
    );
}

/// Every resource and data source type the code uses is in the schema, so a
/// new one cannot reach validate unserved (run generate_schema.py).
#[test]
fn every_type_the_code_uses_is_in_the_schema() {
    let text = std::fs::read_to_string(repo_root().join("terraform/schema/providers-schema.json"))
        .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let used = Regex::new(r#"(?m)^(resource|data) "((aws|random|tls)_[a-z0-9_]+)""#).unwrap();
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for file in crate::harness::files_under(&repo_root().join("terraform"), &[".tf"]) {
        let body = std::fs::read_to_string(&file).unwrap();
        for c in used.captures_iter(&body) {
            seen += 1;
            let kind = if &c[1] == "resource" {
                "resource_schemas"
            } else {
                "data_source_schemas"
            };
            let provider = format!("registry.terraform.io/hashicorp/{}", &c[3]);
            if schema["provider_schemas"][&provider][kind]
                .get(&c[2])
                .is_none()
            {
                missing.insert(format!("{} {}", &c[1], &c[2]));
            }
        }
    }
    assert!(seen > 50, "only {seen} blocks seen");
    assert!(missing.is_empty(), "not in providers-schema.json (run python3 terraform/schema/generate_schema.py): {missing:?}");
}
