output "repository_urls" {
  description = "Repository URLs keyed by short name (backend, frontend, collectors, agents)."
  value       = { for key, repo in aws_ecr_repository.this : key => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs keyed by short name."
  value       = { for key, repo in aws_ecr_repository.this : key => repo.arn }
}

output "kms_key_arn" {
  description = "KMS key encrypting the images."
  value       = module.ecr_key.arn
}
