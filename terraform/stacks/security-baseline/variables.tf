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

variable "guardduty_finding_frequency" {
  description = "GuardDuty finding publishing frequency (environment.hcl verify.guardduty_finding_frequency must match)."
  type        = string
  default     = "FIFTEEN_MINUTES"
}

variable "audit_log_retention_days" {
  description = "Days CloudTrail and Config objects are kept in the audit bucket."
  type        = number
  default     = 2555
}

variable "security_alert_emails" {
  description = "E-mail addresses subscribed to GuardDuty and Security Hub findings."
  type        = list(string)
  default     = []
}

variable "enable_security_hub" {
  description = "Enable Security Hub with the FSBP standard."
  type        = bool
  default     = true
}

variable "audit_object_lock_mode" {
  description = "Object Lock mode of the audit bucket: COMPLIANCE in production, null (off) in staging."
  type        = string
  default     = null
}

variable "audit_object_lock_days" {
  description = "Days each CloudTrail and Config object is locked."
  type        = number
  default     = 365
}

variable "security_alert_slack_channel" {
  description = "Slack workspace and channel ids receiving GuardDuty, Security Hub and CIS alarm findings through AWS Chatbot (besides e-mail)."
  type = object({
    workspace_id = string
    channel_id   = string
  })
  default = null
}
