variable "name" {
  description = "Name prefix, e.g. ohmc-staging."
  type        = string
}

# --- GitHub deploy role --------------------------------------------------------

variable "create_github_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider (once per account)."
  type        = bool
  default     = true
}

variable "github_repositories" {
  description = "GitHub repositories (owner/name) allowed to assume the deploy role."
  type        = list(string)
}

variable "github_environment" {
  description = "GitHub Actions environment the deploy job must run in (the subject claim is pinned to it)."
  type        = string
}

variable "ecr_promotion_source_arns" {
  description = "Repositories in another account (staging) the deploy role may pull from, to promote their images into this account's registry."
  type        = list(string)
  default     = []
}

variable "ecr_repository_arns" {
  description = "ECR repositories the deploy role may push to."
  type        = list(string)
}

variable "eks_cluster_name" {
  description = "Cluster the deploy role may roll out to."
  type        = string
}

variable "deploy_namespaces" {
  description = "Kubernetes namespaces the deploy role may edit (EKS access policy scope)."
  type        = list(string)
}

# --- Audit role ----------------------------------------------------------------

variable "audit_trusted_principal_arns" {
  description = "Principals (operators, CI roles) allowed to assume the read-only audit role used by `ohmc-infra verify`, `audit` and `dr-drill`."
  type        = list(string)
}

variable "audit_external_id" {
  description = "External id required to assume the audit role; null for none."
  type        = string
  default     = null
  sensitive   = true
}

# --- IRSA ----------------------------------------------------------------------

variable "oidc_provider_arn" {
  description = "The EKS cluster's IRSA OIDC provider ARN."
  type        = string
}

variable "oidc_issuer" {
  description = "The EKS OIDC issuer without https://."
  type        = string
}

variable "irsa_roles" {
  description = "IRSA roles for the platform's service accounts, keyed by role suffix (role name <name>-<key>, as annotated in deploy/k8s). Each may read the listed Secrets Manager secrets (ARNs or ARN patterns) and decrypt them with the listed keys."
  type = map(object({
    namespace       = string
    service_account = string
    secret_arns     = list(string)
    kms_key_arns    = list(string)
    # Further statements the workload needs (Loki's bucket, CloudWatch reads).
    policy_statements = list(object({
      sid       = string
      actions   = list(string)
      resources = list(string)
    }))
    # Attach the read-only audit policy and allow assuming the audit role.
    audit = bool
  }))
  default = {}
}

variable "lb_controller_target_group_arns" {
  description = "Target groups the AWS Load Balancer Controller may register pods into (TargetGroupBinding mode). Empty: no controller role."
  type        = list(string)
  default     = []
}

variable "lb_controller_security_group_ids" {
  description = "Security groups (the EKS nodes) in which the AWS Load Balancer Controller may manage the ALB -> pod ingress rules of a TargetGroupBinding."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "github_roles" {
  description = "GitHub Actions roles besides deploy, keyed by name (role <name>-github-<key>): the subjects after repo:<repository>: they trust (e.g. environment:production), AWS-managed policies, extra statements, and whether they may assume the audit role."
  type = map(object({
    subjects            = list(string)
    managed_policy_arns = list(string)
    policy_statements = list(object({
      sid       = string
      actions   = list(string)
      resources = list(string)
    }))
    assume_audit_role = bool
  }))
  default = {}
}

variable "org_audit_role_name" {
  description = "Name of the read-only role the organisation audit assumes in this account (its --role-name); null for none."
  type        = string
  default     = null
}

variable "org_audit_trusted_account_ids" {
  description = "Accounts whose auditing roles may assume the organisation audit role."
  type        = list(string)
  default     = []
}

variable "org_audit_trusted_role_arns" {
  description = "The auditing roles (the in-cluster compliance-audit IRSA roles) that may assume the organisation audit role."
  type        = list(string)
  default     = []
}
