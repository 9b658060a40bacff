variable "identifier" {
  description = "DB instance identifier, e.g. ohmc-staging-postgres (the DR drill restores it by this name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database security group."
  type        = string
}

variable "subnet_ids" {
  description = "Database subnets (no internet route) for the subnet group."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups admitted on the PostgreSQL port: the EKS nodes only."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL major version only (\"16\"): RDS picks the current minor at creation and auto_minor_version_upgrade moves it in the maintenance window. A pinned minor would go stale (deprecated minors cannot be created) and every plan after an automatic upgrade would try to downgrade it."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^[0-9]+$", var.engine_version))
    error_message = "engine_version is a PostgreSQL major version such as \"16\"; minors follow auto_minor_version_upgrade."
  }
}

variable "parameter_group_family" {
  description = "Parameter group family of engine_version's major (postgres<major>)."
  type        = string
  default     = "postgres16"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 200
}

variable "database_name" {
  description = "Name of the initial database."
  type        = string
  default     = "ohmycoins"
}

variable "master_username" {
  description = "Master user name. Its password is generated and kept in Secrets Manager by RDS (manage_master_user_password)."
  type        = string
  default     = "ohmc_admin"
}

variable "multi_az" {
  description = "Standby in a second AZ. Production: true."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse deletion of the instance. Production: true."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Automated backup retention (PITR window), 1-35 days."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "RDS keeps automated backups for 1 to 35 days."
  }
}

variable "backup_window" {
  description = "Daily automated backup window (UTC)."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC)."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource; include the backup selection tag."
  type        = map(string)
  default     = {}
}
