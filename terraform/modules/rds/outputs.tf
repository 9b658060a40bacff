output "instance_id" {
  description = "The DB instance identifier."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "The DB instance ARN (what AWS Backup selects)."
  value       = aws_db_instance.this.arn
}

output "endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the RDS-managed master credentials."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
  sensitive   = true
}

output "security_group_id" {
  description = "The database security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting storage, logs, Performance Insights and the master secret."
  value       = module.rds_key.arn
}
