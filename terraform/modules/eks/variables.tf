variable "cluster_name" {
  description = "EKS cluster name, e.g. ohmc-staging."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node groups: one in EKS standard support per terraform/modules/eks/support-calendar.json. Raise it one minor at a time (runbooks/PRODUCTION_RUNBOOK.md, Kubernetes version upgrade)."
  type        = string
  default     = "1.35"
}

variable "subnet_ids" {
  description = "Private subnets for the control-plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (restricted to public_access_cidrs). Off by default and in production."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when it is enabled. Never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "The public API endpoint must not be open to the whole internet."
  }
}

variable "node_groups" {
  description = "Managed node groups keyed by name."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = number
  }))
}

variable "log_retention_days" {
  description = "Retention of the control-plane log group."
  type        = number
  default     = 365
}

variable "cluster_admin_roles" {
  description = "IAM roles granted cluster-admin through EKS access entries: a name known when planning (an ARN given in tfvars, or a fixed label for a role created in the same apply) => the role's ARN. for_each needs the keys at plan time; a created role's ARN is not known until apply."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
