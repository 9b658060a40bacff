output "secret_arns" {
  description = "Secret ARNs keyed by component."
  value       = { for key, secret in aws_secretsmanager_secret.component : key => secret.arn }
  sensitive   = true
}

output "kms_key_arn" {
  description = "KMS key encrypting the application secrets."
  value       = module.secrets_key.arn
}
