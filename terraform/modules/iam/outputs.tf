output "deploy_role_arn" {
  description = "Role GitHub Actions assumes to push images and roll out."
  value       = aws_iam_role.deploy.arn
}

output "audit_role_arn" {
  description = "Read-only role `ohmc-infra` assumes (environment.hcl aws.role_arn)."
  value       = aws_iam_role.audit.arn
}

output "audit_policy_arn" {
  description = "The least-privilege read-only policy attached to the audit role."
  value       = aws_iam_policy.audit.arn
}

output "irsa_role_arns" {
  description = "IRSA role ARNs keyed by role suffix, for the eks.amazonaws.com/role-arn annotation."
  value       = { for key, role in aws_iam_role.irsa : key => role.arn }
}

output "lb_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller, or null."
  value       = length(aws_iam_role.lb_controller) > 0 ? aws_iam_role.lb_controller[0].arn : null
}

output "github_role_arns" {
  description = "GitHub Actions pipeline roles by key (.github/aws-roles.yaml names the variable each goes into)."
  value       = { for key, role in aws_iam_role.github : key => role.arn }
}

output "org_audit_role_arn" {
  description = "The role the organisation audit assumes in this account, or null."
  value       = length(aws_iam_role.org_audit) > 0 ? aws_iam_role.org_audit[0].arn : null
}
