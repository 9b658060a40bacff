output "rds_instance_ids" {
  description = "RDS instance identifiers (RDS and Backup checks, DR drill)."
  value       = [module.rds.instance_id]
}

output "rds_cluster_ids" {
  # The database is one Multi-AZ instance, not an Aurora cluster. The output
  # still exists so that a cluster added later is judged by the audit's
  # cluster checks once it is listed here, rather than only as "unmanaged".
  description = "RDS cluster identifiers (RDS cluster checks): none, the platform runs a Multi-AZ instance."
  value       = []
}

output "rds_instance_arns" {
  description = "RDS instance ARNs."
  value       = [module.rds.instance_arn]
}

output "rds_endpoint" {
  description = "PostgreSQL endpoint host:port."
  value       = module.rds.endpoint
}

output "rds_master_user_secret_arn" {
  description = "Secrets Manager secret with the RDS-managed master credentials."
  value       = module.rds.master_user_secret_arn
  sensitive   = true
}

output "rds_kms_key_arn" {
  description = "KMS key of the database and its master secret."
  value       = module.rds.kms_key_arn
}

output "redis_replication_group_id" {
  description = "ElastiCache replication group (DR drill)."
  value       = module.redis.replication_group_id
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint (TLS)."
  value       = module.redis.primary_endpoint_address
}

output "redis_auth_token_secret_arn" {
  description = "Secrets Manager secret with the Redis AUTH token."
  value       = module.redis.auth_token_secret_arn
  sensitive   = true
}

output "backup_plan_id" {
  description = "AWS Backup plan (Backup checks)."
  value       = module.backup.plan_id
}

output "backup_vault_name" {
  description = "AWS Backup vault (Backup checks)."
  value       = module.backup.vault_name
}

output "backup_dr_vault_arn" {
  description = "Cross-region copy vault, or null."
  value       = module.backup.dr_vault_arn
}

output "redis_kms_key_arn" {
  description = "KMS key of the cache and its AUTH token secret."
  value       = module.redis.kms_key_arn
}

output "app_secret_arns" {
  description = "Application secrets (ohmc/<environment>/<component>) by component."
  value       = module.app_secrets.secret_arns
  sensitive   = true
}

output "app_secrets_kms_key_arn" {
  description = "KMS key of the application secrets."
  value       = module.app_secrets.kms_key_arn
}

output "drill_redis_buckets" {
  description = "The dr-drill Redis export and import buckets created here (names, or null)."
  value = {
    export = length(aws_s3_bucket.drill_redis_export) > 0 ? aws_s3_bucket.drill_redis_export[0].id : null
    import = length(aws_s3_bucket.drill_redis_import) > 0 ? aws_s3_bucket.drill_redis_import[0].id : null
  }
}
