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

variable "kubernetes_version" {
  description = "EKS Kubernetes version: one in EKS standard support per terraform/modules/eks/support-calendar.json. Raise it one minor at a time (runbooks/PRODUCTION_RUNBOOK.md, Kubernetes version upgrade)."
  type        = string
  default     = "1.35"
}

variable "eks_endpoint_public_access" {
  description = "Public API endpoint (CIDR-restricted). Production: false, private endpoint only."
  type        = bool
  default     = false
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed to the public API endpoint when it is enabled."
  type        = list(string)
  default     = []
}

variable "eks_node_groups" {
  description = "Managed node groups."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = number
  }))
}

variable "eks_admin_role_arns" {
  description = "IAM roles (SSO admin roles) granted cluster-admin, besides the stack's own <name>-eks-admin role."
  type        = list(string)
  default     = []
}

variable "eks_admin_trusted_principal_arns" {
  description = "Principals (operators' SSO roles, or the account) allowed to assume <name>-eks-admin, the cluster-admin role used through the SSM bastion. Empty: no such role."
  type        = list(string)
  default     = []
}

variable "ecr_repositories" {
  description = "ECR repositories of the platform's images."
  type        = list(string)
  default     = ["backend", "frontend", "collectors", "agents", "compliance-audit"]
}

variable "loki_object_expiration_days" {
  description = "Days after which an object in Loki's bucket expires whatever the compactor did: longer than the longest Loki retention (deploy/monitoring/env, 30 days)."
  type        = number
  default     = 45
}

variable "ecr_pull_account_ids" {
  description = "Accounts whose deploy roles may pull this account's images, to promote them into their own registry (staging's repositories, pulled by production)."
  type        = list(string)
  default     = []
}

variable "dr_region" {
  description = "Disaster-recovery region."
  type        = string
}

variable "dr_replication" {
  description = "Replicate to dr_region (production: true): ECR images, Secrets Manager secrets and the Terraform state bucket."
  type        = bool
  default     = false
}
