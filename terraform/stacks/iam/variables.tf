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

variable "github_repositories" {
  description = "GitHub repositories (owner/name) whose deploy jobs may assume the deploy role."
  type        = list(string)
}

variable "create_github_oidc_provider" {
  description = "Create the GitHub OIDC provider in this account (false if it already exists)."
  type        = bool
  default     = true
}

variable "deploy_namespaces" {
  description = "Kubernetes namespaces the deploy role may edit."
  type        = list(string)
  default     = ["ohmc", "ohmc-collectors"]
}

variable "audit_trusted_principal_arns" {
  description = "Principals allowed to assume the read-only audit role."
  type        = list(string)
}

variable "audit_external_id" {
  description = "External id required to assume the audit role; null for none."
  type        = string
  default     = null
  sensitive   = true
}

variable "lock_table" {
  description = "State lock table of this environment (backend.hcl), which the plan role may write locks into."
  type        = string
}

variable "ecr_promotion_source_arns" {
  description = "Repositories of the account that builds the images (staging), which this environment's deploy role pulls to promote them into its own registry."
  type        = list(string)
  default     = []
}

variable "org_audit_role_name" {
  description = "The role the organisation audit (deploy/audit/kubernetes/org-audit-job.yaml --role-name) assumes in every account; null for none."
  type        = string
  default     = null
}

variable "org_audit_trusted_account_ids" {
  description = "Accounts whose compliance-audit IRSA roles run the organisation audit."
  type        = list(string)
  default     = []
}

variable "org_audit_trusted_role_arns" {
  description = "The compliance-audit IRSA roles that run the organisation audit (one per cluster that deploys deploy/audit/kubernetes)."
  type        = list(string)
  default     = []
}
