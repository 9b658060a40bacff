variable "name" {
  description = "Name prefix, e.g. ohmc-staging."
  type        = string
}

variable "s3_access_logs_bucket" {
  description = "Bucket receiving the S3 server access logs of the trail bucket (from the state-bootstrap stack)."
  type        = string
}

variable "trail_log_retention_days" {
  description = "Days CloudTrail and Config objects stay in the audit bucket."
  type        = number
  default     = 2555
}

variable "audit_object_lock_mode" {
  description = "S3 Object Lock default retention mode of the audit bucket: COMPLIANCE (production), GOVERNANCE, or null for none. Only takes effect on a new bucket."
  type        = string
  default     = null

  validation {
    condition     = var.audit_object_lock_mode == null || contains(["GOVERNANCE", "COMPLIANCE"], coalesce(var.audit_object_lock_mode, "none"))
    error_message = "audit_object_lock_mode is GOVERNANCE, COMPLIANCE or null."
  }
}

variable "audit_object_lock_days" {
  description = "Days each audit object is locked (at most trail_log_retention_days)."
  type        = number
  default     = 365
}

variable "trail_glacier_transition_days" {
  description = "Days before audit objects move to Glacier Flexible Retrieval."
  type        = number
  default     = 90
}

variable "cloudwatch_log_retention_days" {
  description = "Retention of the CloudTrail log group in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "guardduty_finding_frequency" {
  description = "How often GuardDuty publishes updated findings: FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  type        = string
  default     = "FIFTEEN_MINUTES"

  validation {
    condition     = contains(["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"], var.guardduty_finding_frequency)
    error_message = "Must be FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  }
}

variable "guardduty_min_severity" {
  description = "Lowest GuardDuty severity routed to the findings topic (4 = medium)."
  type        = number
  default     = 4
}

variable "config_rules" {
  description = "AWS Config managed rules, rule name => source identifier. The names are what `ohmc-infra verify` looks for."
  type        = map(string)
  default = {
    "cloudtrail-enabled"                = "CLOUD_TRAIL_ENABLED"
    "cloud-trail-log-file-validation"   = "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED"
    "rds-storage-encrypted"             = "RDS_STORAGE_ENCRYPTED"
    "rds-instance-public-access-check"  = "RDS_INSTANCE_PUBLIC_ACCESS_CHECK"
    "rds-snapshots-public-prohibited"   = "RDS_SNAPSHOTS_PUBLIC_PROHIBITED"
    "s3-bucket-public-read-prohibited"  = "S3_BUCKET_PUBLIC_READ_PROHIBITED"
    "s3-bucket-public-write-prohibited" = "S3_BUCKET_PUBLIC_WRITE_PROHIBITED"
    "s3-bucket-ssl-requests-only"       = "S3_BUCKET_SSL_REQUESTS_ONLY"
    "encrypted-volumes"                 = "ENCRYPTED_VOLUMES"
    "vpc-flow-logs-enabled"             = "VPC_FLOW_LOGS_ENABLED"
    "restricted-ssh"                    = "INCOMING_SSH_DISABLED"
    "vpc-default-security-group-closed" = "VPC_DEFAULT_SECURITY_GROUP_CLOSED"
    "eks-secrets-encrypted"             = "EKS_SECRETS_ENCRYPTED"
    "eks-endpoint-no-public-access"     = "EKS_ENDPOINT_NO_PUBLIC_ACCESS"
    "guardduty-enabled-centralized"     = "GUARDDUTY_ENABLED_CENTRALIZED"
    "iam-root-access-key-check"         = "IAM_ROOT_ACCESS_KEY_CHECK"
    "root-account-mfa-enabled"          = "ROOT_ACCOUNT_MFA_ENABLED"
    "alb-waf-enabled"                   = "ALB_WAF_ENABLED"
    "alb-http-to-https-redirection"     = "ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK"
    "elasticache-redis-auto-backup"     = "ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK"
  }
}

variable "enable_security_hub" {
  description = "Enable Security Hub with the AWS Foundational Security Best Practices standard."
  type        = bool
  default     = true
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the security findings topic."
  type        = list(string)
  default     = []
}

variable "alert_slack_channel" {
  description = "Slack channel receiving the security findings topic through AWS Chatbot: workspace (team) id and channel id. The workspace is authorised for Chatbot once in the console. Null: e-mail only."
  type = object({
    workspace_id = string
    channel_id   = string
  })
  default = null
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
