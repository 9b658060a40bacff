# The production checklist (terraform/README.md) for the security-baseline stack, for
# the environment whose tfvars the run is given:
#
#   terraform test -var-file=../../../environments/<env>/terraform.tfvars
#
# The providers are mocked: Terraform needs only their schemas (the real
# providers' or the schema stand-in's, tests/aws-standin), and nothing is
# created even where the real provider is installed. Assertions can only see
# a root module's own resources, so each module's checklist runs against that
# module, fed as main.tf feeds it from this environment's tfvars (upstream
# stacks' outputs become fixed ids). tests/it/terraform_judge.rs runs this per
# environment, checks the `variables` below against main.tf's module
# arguments, and proves that each assertion can fail (its negative cases).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variable "environment" {}
variable "audit_log_retention_days" {}
variable "guardduty_finding_frequency" {}
variable "enable_security_hub" {}
variable "security_alert_emails" {}

# Set by production's tfvars only; the stack's defaults otherwise.
variable "security_alert_slack_channel" {
  default = null
}
variable "audit_object_lock_days" {
  default = 365
}
variable "audit_object_lock_mode" {
  default = null
}

run "security_baseline" {
  command = apply

  module {
    source = "../../modules/security-baseline"
  }

  variables {
    alert_slack_channel         = var.security_alert_slack_channel
    audit_object_lock_days      = var.audit_object_lock_days
    audit_object_lock_mode      = var.audit_object_lock_mode
    name                        = "ohmc-${var.environment}"
    s3_access_logs_bucket       = "ohmc-${var.environment}-s3-access-logs"
    trail_log_retention_days    = var.audit_log_retention_days
    guardduty_finding_frequency = var.guardduty_finding_frequency
    enable_security_hub         = var.enable_security_hub
    alert_emails                = var.security_alert_emails
    tags                        = {}
  }

  assert {
    condition     = aws_cloudtrail.this.is_multi_region_trail && aws_cloudtrail.this.include_global_service_events
    error_message = "cloudtrail.multi_region_logging: a multi-region trail with global service events"
  }

  assert {
    condition = alltrue([for kind in ["AWS::S3::Object", "AWS::Lambda::Function"] : anytrue([
      for selector in aws_cloudtrail.this.advanced_event_selector :
      anytrue([for f in selector.field_selector : f.field == "eventCategory" && try(contains(f.equals, "Data"), false)])
      && anytrue([for f in selector.field_selector : f.field == "resources.type" && try(contains(f.equals, kind), false)])
    ])])
    error_message = "cloudtrail.data_events: S3 object and Lambda data events recorded through advanced event selectors"
  }
  assert {
    condition     = aws_cloudtrail.this.enable_log_file_validation
    error_message = "cloudtrail.log_file_validation: log file validation is on"
  }
  assert {
    condition     = aws_cloudtrail.this.kms_key_id == module.security_key.arn
    error_message = "cloudtrail.kms_encrypted: the trail is encrypted with the security key"
  }
  assert {
    condition     = aws_cloudtrail.this.cloud_watch_logs_group_arn == "${aws_cloudwatch_log_group.cloudtrail.arn}:*"
    error_message = "cloudtrail.cloudwatch_logs: the trail delivers to its CloudWatch log group"
  }
  assert {
    condition     = aws_cloudtrail.this.enable_logging
    error_message = "cloudtrail.logging_on: the trail is logging"
  }
  assert {
    condition     = one(aws_config_configuration_recorder.this.recording_group).all_supported && one(aws_config_configuration_recorder.this.recording_group).include_global_resource_types
    error_message = "config.recorder_all_resources: the recorder records all resources and global types"
  }
  assert {
    condition     = aws_config_delivery_channel.this.s3_bucket_name == aws_s3_bucket.audit.id && aws_config_configuration_recorder_status.this.is_enabled
    error_message = "config.delivery_channel: the channel delivers to the audit bucket and the recorder is on"
  }
  assert {
    condition     = contains(keys(aws_config_config_rule.managed), "cloudtrail-enabled") && contains(keys(aws_config_config_rule.managed), "rds-storage-encrypted")
    error_message = "config.required_rules_exist: cloudtrail-enabled and rds-storage-encrypted are evaluated"
  }
  assert {
    condition     = aws_guardduty_detector.this.enable && aws_guardduty_detector.this.finding_publishing_frequency == "FIFTEEN_MINUTES"
    error_message = "guardduty.detector_enabled: the detector is on and publishes every 15 minutes"
  }
  assert {
    condition = alltrue([for f in ["EKS_AUDIT_LOGS", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"] :
    contains([for k, v in aws_guardduty_detector_feature.this : v.name if v.status == "ENABLED"], f)])
    error_message = "guardduty.protection_features: EKS audit logs, RDS, S3 and EBS protection are enabled"
  }
  assert {
    condition     = aws_cloudwatch_event_target.guardduty_findings.arn == aws_sns_topic.security_findings.arn
    error_message = "guardduty.findings_to_sns: findings go through EventBridge to the findings topic"
  }
  assert {
    condition     = length(aws_securityhub_account.this) == (var.enable_security_hub ? 1 : 0) && var.enable_security_hub
    error_message = "securityhub.enabled: Security Hub is enabled"
  }
}
