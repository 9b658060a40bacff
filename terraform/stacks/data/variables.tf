variable "environment" {
  description = "Environment name (staging, production); prefixes every name and the state keys."
  type        = string
}

variable "account_id" {
  description = "The AWS account this environment lives in; the provider refuses any other."
  type        = string
}

variable "region" {
  description = "Primary AWS region."
  type        = string
}

variable "extra_tags" {
  description = "Additional tags on every resource."
  type        = map(string)
  default     = {}
}

variable "state_bucket" {
  description = "State bucket of this environment (same as backend.hcl), read by terraform_remote_state."
  type        = string
}

variable "dr_region" {
  description = "Disaster-recovery region receiving cross-region backup copies."
  type        = string
}

# --- RDS -----------------------------------------------------------------------

variable "rds_instance_class" {
  description = "PostgreSQL instance class."
  type        = string
}

variable "rds_allocated_storage_gb" {
  description = "Initial PostgreSQL storage."
  type        = number
  default     = 50
}

variable "rds_max_allocated_storage_gb" {
  description = "PostgreSQL storage autoscaling ceiling."
  type        = number
  default     = 200
}

variable "rds_multi_az" {
  description = "Multi-AZ standby. Production: true."
  type        = bool
  default     = true
}

variable "rds_deletion_protection" {
  description = "Deletion protection. Production: true."
  type        = bool
  default     = true
}

variable "rds_backup_retention_days" {
  description = "Automated backup (PITR) retention in days."
  type        = number
}

# --- Redis ---------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "redis_num_cache_clusters" {
  description = "Primary plus replicas."
  type        = number
  default     = 2
}

variable "redis_snapshot_retention_days" {
  description = "Days of automatic Redis snapshots."
  type        = number
}

variable "redis_auth_rotated_on" {
  description = "Date the Redis AUTH token was issued; a new date rotates it (runbooks/PRODUCTION_RUNBOOK.md)."
  type        = string
}

variable "redis_auth_keep_previous" {
  description = "True only between the two applies of a rotation: the old token stays valid until every client has the new one."
  type        = bool
  default     = false
}

# --- AWS Backup ----------------------------------------------------------------

variable "backup_daily_retention_days" {
  description = "Retention of daily recovery points."
  type        = number
}

variable "backup_weekly_retention_days" {
  description = "Retention of weekly recovery points."
  type        = number
}

variable "backup_monthly_retention_days" {
  description = "Retention of monthly recovery points."
  type        = number
}

variable "backup_cross_region_copy" {
  description = "Copy recovery points to the DR region. Production: true."
  type        = bool
  default     = false
}

variable "backup_dr_retention_days" {
  description = "Retention of the cross-region copies."
  type        = number
  default     = 35
}

variable "backup_vault_lock" {
  description = "Vault Lock on the backup vaults. Production: true."
  type        = bool
  default     = false
}

variable "backup_vault_lock_mode" {
  description = "governance until the first successful dr-drill of the environment, then compliance (runbooks/DISASTER_RECOVERY.md, Vault Lock)."
  type        = string
  default     = "governance"
}

variable "dr_replication" {
  description = "Replicate to dr_region (production: true): ECR images, Secrets Manager secrets and the Terraform state bucket."
  type        = bool
  default     = false
}

# --- DR drill ------------------------------------------------------------------

variable "drill_redis_export_bucket" {
  description = "Bucket in this region that dr-drill exports Redis snapshots to (environment.hcl drill.redis_export_bucket); null for none."
  type        = string
  default     = null
}

variable "drill_redis_import_bucket" {
  description = "Bucket in dr_region that dr-drill restores Redis from (environment.hcl drill.redis_import_bucket); null for none."
  type        = string
  default     = null
}
