variable "description" {
  description = "Description of the key: what it encrypts."
  type        = string
}

variable "alias_name" {
  description = "Full alias name (alias/...), or null for no alias."
  type        = string
  default     = null
}

variable "policy_statements" {
  description = "Key policy statements (jsonencode shape) added after the account-administration statement. \"Resource\": \"*\" means this key."
  type        = any
  default     = []
}

variable "allow_cloudwatch_logs" {
  description = "Add the statement letting CloudWatch Logs of this region use the key for the account's log groups."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to the key."
  type        = map(string)
  default     = {}
}
