output "deploy_role_arn" {
  description = "GitHub Actions deploy role."
  value       = module.iam.deploy_role_arn
}

output "audit_role_arn" {
  description = "Read-only audit role (environment.hcl aws.role_arn)."
  value       = module.iam.audit_role_arn
}

output "irsa_role_arns" {
  description = "IRSA roles by service account."
  value       = module.iam.irsa_role_arns
}

output "lb_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller."
  value       = module.iam.lb_controller_role_arn
}

output "github_role_arns" {
  description = "GitHub Actions pipeline roles (plan, apply, audit, drill); .github/aws-roles.yaml says which variable holds each."
  value       = module.iam.github_role_arns
}
