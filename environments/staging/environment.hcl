# staging: read by `ohmc-infra`; format in environments/README.md.
description = "Staging: production-shaped, smaller and cheaper"

aws {
  account_id = "123456789012"
  region     = "us-east-1"
  profile    = "ohmc-staging"
  role_arn   = "arn:aws:iam::123456789012:role/ohmc-staging-audit"
}

protection {
  require_approval = false
}

# Apply order: state-bootstrap, then security-baseline, network and dns, then
# platform, data and edge, then iam. The first apply in a new account runs
# `ohmc-infra bootstrap` first (terraform/README.md). dns writes the NS
# delegation of staging.ohmycoins.io into production's ohmycoins.io, through
# the role production's dns stack creates: production's dns goes first.

stack "state-bootstrap" {
  dir            = "../../terraform/stacks/state-bootstrap"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/state-bootstrap.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = []
}

stack "security-baseline" {
  dir            = "../../terraform/stacks/security-baseline"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/security-baseline.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["state-bootstrap"]
}

stack "network" {
  dir            = "../../terraform/stacks/network"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/network.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["state-bootstrap"]
}

stack "platform" {
  dir            = "../../terraform/stacks/platform"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/platform.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["network"]
}

stack "data" {
  dir            = "../../terraform/stacks/data"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/data.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["network", "platform"]
}

stack "dns" {
  dir            = "../../terraform/stacks/dns"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/dns.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["state-bootstrap"]
}

stack "edge" {
  dir            = "../../terraform/stacks/edge"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/edge.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["state-bootstrap", "network", "platform", "dns"]
}

stack "iam" {
  dir            = "../../terraform/stacks/iam"
  backend_config = "backend.hcl"
  backend_values = { key = "staging/iam.tfstate" }
  var_files      = ["terraform.tfvars"]
  depends_on     = ["platform", "data", "edge"]
}

verify {
  domain_names                   = ["staging.ohmycoins.io", "api.staging.ohmycoins.io"]
  certificate_expiry_window_days = 30
  min_backup_retention_days      = 7
  required_waf_rule_groups = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
  ]
  required_config_rules       = ["cloudtrail-enabled", "rds-storage-encrypted"]
  guardduty_finding_frequency = "FIFTEEN_MINUTES"
  rpo_target                  = "24h"
}

drill {
  rds_instances           = ["ohmc-staging-postgres"]
  redis_replication_group = "ohmc-staging-redis"
  rto_target              = "1h"
  rpo_target              = "24h"
  timeout                 = "2h"
  validation_command      = ""

  # Created by the data stack (drill_redis_*_bucket in terraform.tfvars).
  redis_export_bucket = "ohmc-staging-redis-export-123456789012"
  redis_import_bucket = "ohmc-staging-redis-import-123456789012-us-west-2"
}

monitoring {
  prometheus_url       = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
  alertmanager_url     = "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093"
  required_jobs        = ["node-exporter", "kube-state-metrics", "ohmc-backend", "ohmc-agents", "blackbox-https"]
  required_rule_groups = ["ohmc.node", "ohmc.workloads", "ohmc.application", "ohmc.datastores", "ohmc.platform"]
}
