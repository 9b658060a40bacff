variable "name" {
  description = "Name prefix, e.g. ohmc-staging."
  type        = string
}

variable "selection_tag_key" {
  description = "Tag key that puts a resource under this plan."
  type        = string
  default     = "backup-plan"
}

variable "selection_tag_value" {
  description = "Tag value that puts a resource under this plan, e.g. ohmc-staging."
  type        = string
}

variable "daily_retention_days" {
  description = "Days each daily recovery point is kept."
  type        = number
}

variable "weekly_retention_days" {
  description = "Days each weekly recovery point is kept."
  type        = number
}

variable "monthly_retention_days" {
  description = "Days each monthly recovery point is kept."
  type        = number
}

variable "schedule_timezone" {
  description = "Time zone of the backup schedules."
  type        = string
  default     = "UTC"
}

variable "enable_cross_region_copy" {
  description = "Copy every recovery point to a vault in the aws.dr region. Production: true."
  type        = bool
  default     = false
}

variable "dr_retention_days" {
  description = "Days the cross-region copies are kept."
  type        = number
  default     = 35
}

variable "enable_vault_lock" {
  description = "Put the vault under AWS Backup Vault Lock (WORM). Production: true."
  type        = bool
  default     = false
}

variable "vault_lock_mode" {
  description = "Vault Lock mode: governance (can still be lifted) until a dr-drill has restored from the vault, then compliance (immutable after vault_lock_changeable_for_days). The lock's retention bounds are the rules' own."
  type        = string
  default     = "governance"

  validation {
    condition     = contains(["governance", "compliance"], var.vault_lock_mode)
    error_message = "vault_lock_mode is governance or compliance."
  }
}

variable "vault_lock_changeable_for_days" {
  description = "Compliance mode only: days after the lock is set during which it can still be removed; then it is immutable."
  type        = number
  default     = 3
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
