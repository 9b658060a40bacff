variable "replication_group_id" {
  description = "Replication group id, e.g. ohmc-staging-redis (the DR drill restores it by this name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache security group."
  type        = string
}

variable "subnet_ids" {
  description = "Database subnets for the cache subnet group."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups admitted on the Redis port: the EKS nodes only."
  type        = list(string)
}

variable "node_type" {
  description = "Cache node type."
  type        = string
}

variable "num_cache_clusters" {
  description = "Primary plus replicas. At least 2 for automatic failover."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 2
    error_message = "Automatic failover needs a primary and at least one replica."
  }
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "parameter_group_name" {
  description = "Parameter group matching engine_version."
  type        = string
  default     = "default.redis7"
}

variable "snapshot_retention_days" {
  description = "Days of automatic daily snapshots kept."
  type        = number

  validation {
    condition     = var.snapshot_retention_days >= 1
    error_message = "Snapshots must be kept for at least one day."
  }
}

variable "snapshot_window" {
  description = "Daily snapshot window (UTC)."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC)."
  type        = string
  default     = "sun:05:00-sun:06:00"
}

variable "log_retention_days" {
  description = "Retention of the slow and engine logs."
  type        = number
  default     = 365
}

variable "auth_rotated_on" {
  description = "Date (YYYY-MM-DD) the current AUTH token was issued; a new date issues a new token. Rotate at least every 90 days."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", var.auth_rotated_on))
    error_message = "auth_rotated_on is a date, YYYY-MM-DD."
  }
}

variable "auth_keep_previous" {
  description = "During a rotation only: the previous token stays valid too (ROTATE) until every client uses the new one. Otherwise only the current token is valid (SET)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
