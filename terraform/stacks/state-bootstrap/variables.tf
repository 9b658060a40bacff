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
  description = "Name of the state bucket to create (must equal backend.hcl `bucket`)."
  type        = string
}

variable "lock_table" {
  description = "Name of the lock table to create (must equal backend.hcl `dynamodb_table`)."
  type        = string
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
