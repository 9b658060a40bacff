output "state_bucket_name" {
  description = "The state bucket."
  value       = module.state.state_bucket_name
}

output "lock_table_name" {
  description = "The state lock table."
  value       = module.state.lock_table_name
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket and lock table."
  value       = module.state.state_kms_key_arn
}

output "access_logs_bucket_name" {
  description = "Bucket receiving S3 server access logs of every bucket in the account."
  value       = module.state.access_logs_bucket_name
}
