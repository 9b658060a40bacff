# Staging values for every stack (each stack reads the variables it declares).
# Production-shaped, but single NAT, single-AZ RDS, shorter retention, no
# cross-region copy or vault lock, a CIDR-restricted public EKS endpoint, and
# looser WAF limits.

environment  = "staging"
account_id   = "123456789012"
region       = "us-east-1"
dr_region    = "us-west-2"
state_bucket = "ohmc-staging-tfstate-123456789012"
lock_table   = "ohmc-staging-tflock"

extra_tags = {
  CostCenter = "ohmc-staging"
}

# --- security-baseline ---------------------------------------------------------
guardduty_finding_frequency = "FIFTEEN_MINUTES"
audit_log_retention_days    = 365
security_alert_emails       = ["security@ohmycoins.io"]
# Placeholders: the Slack workspace authorised for AWS Chatbot and the
# on-call security channel (terraform/README.md, Placeholders).
security_alert_slack_channel = {
  workspace_id = "T0OHMC0001"
  channel_id   = "C0SECALERT"
}
enable_security_hub = true

# --- network -------------------------------------------------------------------
vpc_cidr                = "10.20.0.0/16"
availability_zones      = ["us-east-1a", "us-east-1b", "us-east-1c"]
single_nat_gateway      = true
flow_log_retention_days = 365

# --- platform ------------------------------------------------------------------
kubernetes_version         = "1.35"
eks_endpoint_public_access = true
# Operators' VPN egress only (documentation range until the real one is set).
eks_public_access_cidrs = ["203.0.113.0/24"]
# Who may assume ohmc-staging-eks-admin (cluster-admin through the SSM bastion).
eks_admin_trusted_principal_arns = ["arn:aws:iam::123456789012:root"]
eks_admin_role_arns              = []

# Images are built and pushed here; production promotes (copies) the tested
# ones into its own registry.
ecr_pull_account_ids = ["234567890123"]

eks_node_groups = {
  general = {
    instance_types = ["t3.large"]
    capacity_type  = "ON_DEMAND"
    min_size       = 2
    max_size       = 4
    desired_size   = 2
    disk_size_gb   = 50
  }
}

# --- data ----------------------------------------------------------------------
rds_instance_class            = "db.t4g.medium"
rds_allocated_storage_gb      = 50
rds_max_allocated_storage_gb  = 100
rds_multi_az                  = false
rds_deletion_protection       = false
rds_backup_retention_days     = 7
redis_node_type               = "cache.t4g.small"
redis_num_cache_clusters      = 2
redis_auth_rotated_on         = "2026-12-03"
redis_snapshot_retention_days = 3
backup_daily_retention_days   = 7
backup_weekly_retention_days  = 35
backup_monthly_retention_days = 90
backup_cross_region_copy      = false
backup_vault_lock             = false

# --- dns -----------------------------------------------------------------------
# Delegated from production's zone through the role production's dns stack
# creates (ohmc-production-dns-delegation in production's account).
dns_parent_zone = {
  name                = "ohmycoins.io"
  delegation_role_arn = "arn:aws:iam::234567890123:role/ohmc-production-dns-delegation"
}

# --- dr-drill ------------------------------------------------------------------
# Redis across regions (--target-region us-west-2): environment.hcl's drill
# block names the same buckets.
drill_redis_export_bucket = "ohmc-staging-redis-export-123456789012"
drill_redis_import_bucket = "ohmc-staging-redis-import-123456789012-us-west-2"

# --- edge ----------------------------------------------------------------------
zone_name               = "staging.ohmycoins.io"
domain_names            = ["staging.ohmycoins.io", "api.staging.ohmycoins.io"]
waf_rate_limit          = 2000
alb_deletion_protection = false

# --- iam -----------------------------------------------------------------------
github_repositories          = ["ohmycoins/ohmycoins"]
create_github_oidc_provider  = true
deploy_namespaces            = ["ohmc", "ohmc-collectors"]
audit_trusted_principal_arns = ["arn:aws:iam::123456789012:root"]

# The organisation audit (deploy/audit/kubernetes/org-audit-job.yaml) runs in
# both clusters and assumes ohmc-org-audit in every account, this one included.
org_audit_role_name           = "ohmc-org-audit"
org_audit_trusted_account_ids = ["123456789012", "234567890123"]
org_audit_trusted_role_arns = [
  "arn:aws:iam::123456789012:role/ohmc-staging-compliance-audit",
  "arn:aws:iam::234567890123:role/ohmc-production-compliance-audit",
]
