variable "state_bucket_name" {
  description = "Name of the S3 bucket holding every stack's state (backend.hcl `bucket`)."
  type        = string
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table (backend.hcl `dynamodb_table`)."
  type        = string
}

variable "access_logs_bucket_name" {
  description = "Name of the bucket receiving S3 server access logs of every bucket in the account."
  type        = string
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "noncurrent_state_retention_days" {
  description = "Days superseded state versions are kept (the undo window for a bad apply)."
  type        = number
  default     = 90
}

variable "replica_bucket_name" {
  description = "Bucket in the aws.dr region that every state version is replicated to; null for no replication (staging)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
