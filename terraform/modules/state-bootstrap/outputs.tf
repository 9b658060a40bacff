output "state_bucket_name" {
  description = "The state bucket (backend.hcl `bucket`)."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "lock_table_name" {
  description = "The lock table (backend.hcl `dynamodb_table`)."
  value       = aws_dynamodb_table.lock.name
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket and lock table (backend.hcl `kms_key_id`)."
  value       = module.state_key.arn
}

output "access_logs_bucket_name" {
  description = "Bucket receiving S3 server access logs of every bucket in the account."
  value       = aws_s3_bucket.access_logs.id
}
