variable "bucket" {
  description = "Name (id) of the bucket to harden, created by the caller."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of that bucket, for the TLS-only statement of its policy."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS default encryption with a bucket key; null for SSE-S3 (AES256), for buckets whose delivering service only supports that."
  type        = string
  default     = null
}

variable "policy_json" {
  description = "The caller's bucket policy statements (an IAM policy document JSON); the TLS-only deny statement is added after them. Null for none."
  type        = string
  default     = null
}

variable "access_logs_bucket" {
  description = "Bucket receiving this bucket's S3 server access logs (prefix: the bucket name); null for none (only the access-log bucket itself)."
  type        = string
  default     = null
}

variable "lifecycle_rule_id" {
  description = "Id of the bucket's lifecycle rule."
  type        = string
}

variable "glacier_transition_days" {
  description = "Days after which current objects move to GLACIER; null for no transition."
  type        = number
  default     = null
}

variable "expiration_days" {
  description = "Days after which current objects expire; null for never."
  type        = number
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions expire."
  type        = number
}
