output "replication_group_id" {
  description = "The replication group id."
  value       = aws_elasticache_replication_group.this.id
}

output "replication_group_arn" {
  description = "The replication group ARN."
  value       = aws_elasticache_replication_group.this.arn
}

output "primary_endpoint_address" {
  description = "Primary endpoint (TLS) host name."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "Reader endpoint (TLS) host name."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "auth_token_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token."
  value       = aws_secretsmanager_secret.auth_token.arn
  sensitive   = true
}

output "security_group_id" {
  description = "The cache security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting the cache at rest, the AUTH token secret and the logs."
  value       = module.redis_key.arn
}
