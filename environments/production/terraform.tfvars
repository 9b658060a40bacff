# Production values for every stack (each stack reads the variables it declares).
# Differs from staging: NAT per AZ, multi-AZ RDS with deletion protection,
# longer retention, cross-region backup copies to us-west-2 under Vault Lock,
# a private-only EKS endpoint and a stricter WAF rate limit.

environment = "production"
account_id  = "234567890123"
region      = "us-east-1"
dr_region   = "us-west-2"
# Images, application secrets and Terraform state replicated to dr_region.
dr_replication = true
state_bucket   = "ohmc-production-tfstate-234567890123"
lock_table     = "ohmc-production-tflock"

extra_tags = {
  CostCenter = "ohmc-production"
}

# --- security-baseline ---------------------------------------------------------
guardduty_finding_frequency = "FIFTEEN_MINUTES"
audit_log_retention_days    = 2555
audit_object_lock_mode      = "COMPLIANCE"
audit_object_lock_days      = 365
security_alert_emails       = ["security@ohmycoins.io"]
# Placeholders: the Slack workspace authorised for AWS Chatbot and the
# on-call security channel (terraform/README.md, Placeholders).
security_alert_slack_channel = {
  workspace_id = "T0OHMC0001"
  channel_id   = "C0SECALERT"
}
enable_security_hub = true

# --- network -------------------------------------------------------------------
vpc_cidr                = "10.30.0.0/16"
availability_zones      = ["us-east-1a", "us-east-1b", "us-east-1c"]
single_nat_gateway      = false
flow_log_retention_days = 365

# --- platform ------------------------------------------------------------------
kubernetes_version         = "1.35"
eks_endpoint_public_access = false
eks_public_access_cidrs    = []
# Who may assume ohmc-production-eks-admin (cluster-admin through the SSM bastion).
eks_admin_trusted_principal_arns = ["arn:aws:iam::234567890123:root"]
eks_admin_role_arns              = []

eks_node_groups = {
  general = {
    instance_types = ["m6i.xlarge"]
    capacity_type  = "ON_DEMAND"
    min_size       = 3
    max_size       = 9
    desired_size   = 3
    disk_size_gb   = 100
  }
}

# --- data ----------------------------------------------------------------------
rds_instance_class            = "db.r6g.large"
rds_allocated_storage_gb      = 200
rds_max_allocated_storage_gb  = 1000
rds_multi_az                  = true
rds_deletion_protection       = true
rds_backup_retention_days     = 35
redis_node_type               = "cache.r6g.large"
redis_num_cache_clusters      = 3
redis_auth_rotated_on         = "2026-12-03"
redis_snapshot_retention_days = 14
backup_daily_retention_days   = 35
backup_weekly_retention_days  = 90
backup_monthly_retention_days = 365
backup_cross_region_copy      = true
backup_dr_retention_days      = 35
backup_vault_lock             = true
# Compliance (immutable) only after the first successful dr-drill restored
# from these vaults: runbooks/DISASTER_RECOVERY.md, Vault Lock.
backup_vault_lock_mode = "governance"

# --- dns -----------------------------------------------------------------------
# ohmycoins.io is delegated at the registrar (the hosted_zone_name_servers
# output); staging's account writes its own NS record here.
dns_delegated_subdomains = {
  "staging.ohmycoins.io" = "123456789012"
}

# --- dr-drill ------------------------------------------------------------------
# Redis across regions (--target-region us-west-2): environment.hcl's drill
# block names the same buckets.
drill_redis_export_bucket = "ohmc-production-redis-export-234567890123"
drill_redis_import_bucket = "ohmc-production-redis-import-234567890123-us-west-2"

# --- edge ----------------------------------------------------------------------
zone_name               = "ohmycoins.io"
domain_names            = ["ohmycoins.io", "api.ohmycoins.io"]
waf_rate_limit          = 1000
alb_deletion_protection = true

# --- iam -----------------------------------------------------------------------
github_repositories          = ["ohmycoins/ohmycoins"]
create_github_oidc_provider  = true
deploy_namespaces            = ["ohmc", "ohmc-collectors"]
audit_trusted_principal_arns = ["arn:aws:iam::234567890123:root"]
# The deploy role copies tested images from staging's registry (promotion).
ecr_promotion_source_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/ohmc-*"]

# The organisation audit (deploy/audit/kubernetes/org-audit-job.yaml) runs in
# both clusters and assumes ohmc-org-audit in every account, this one included.
org_audit_role_name           = "ohmc-org-audit"
org_audit_trusted_account_ids = ["123456789012", "234567890123"]
org_audit_trusted_role_arns = [
  "arn:aws:iam::123456789012:role/ohmc-staging-compliance-audit",
  "arn:aws:iam::234567890123:role/ohmc-production-compliance-audit",
]
