# Account security baseline: a multi-region CloudTrail (KMS, log-file
# validation, CloudWatch Logs) into a hardened S3 bucket that also takes the
# AWS Config snapshots; the Config recorder (all resources, global types),
# delivery channel and managed rules; GuardDuty with EKS audit-log, EKS
# Runtime Monitoring, RDS and S3 protection and findings routed through
# EventBridge to SNS (e-mail and Slack); the CIS metric filters and alarms
# (cis_alarms.tf); Security Hub with the FSBP standard.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  trail_name    = "${var.name}-trail"
  trail_arn     = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"
  bucket_name   = "${var.name}-audit-logs-${local.account_id}"
  trail_prefix  = "cloudtrail"
  config_prefix = "config"
}

# --- Encryption ----------------------------------------------------------------

module "security_key" {
  source = "../kms-key"

  description = "${var.name} CloudTrail, Config, audit bucket and security topics"
  alias_name  = "alias/${var.name}-security"
  policy_statements = [
    {
      Sid       = "CloudTrailEncryptLogs"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "kms:GenerateDataKey*"
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceArn" = local.trail_arn }
        StringLike   = { "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*" }
      }
    },
    {
      Sid       = "CloudTrailDescribeKey"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "kms:DescribeKey"
      Resource  = "*"
    },
    {
      Sid       = "ServicesUseForDelivery"
      Effect    = "Allow"
      Principal = { Service = ["config.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com", "cloudwatch.amazonaws.com"] }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    },
  ]
  allow_cloudwatch_logs = true

  tags = var.tags
}

# --- Audit bucket (CloudTrail and Config) --------------------------------------

resource "aws_s3_bucket" "audit" {
  #checkov:skip=CKV_AWS_144:Replication of audit logs to another region belongs to an organization log-archive account, not to this workload stack; here the trail records every region, objects are versioned and log-file validation detects tampering.
  #checkov:skip=CKV2_AWS_62:Log delivery is signalled by CloudTrail's own SNS notification (sns_topic_name); S3 event notifications would duplicate it.
  bucket        = local.bucket_name
  force_destroy = false
  # Object Lock can only be turned on for a bucket at creation (or through
  # AWS support); its default retention is set below.
  object_lock_enabled = var.audit_object_lock_mode != null

  tags = var.tags
}

# WORM for the audit trail: CloudTrail and Config objects cannot be deleted or
# overwritten for audit_object_lock_days, not even by the account's root user
# in COMPLIANCE mode (production).
resource "aws_s3_bucket_object_lock_configuration" "audit" {
  count = var.audit_object_lock_mode == null ? 0 : 1

  bucket = aws_s3_bucket.audit.id

  rule {
    default_retention {
      mode = var.audit_object_lock_mode
      days = var.audit_object_lock_days
    }
  }

  depends_on = [module.audit_bucket]
}

module "audit_bucket" {
  source = "../private-bucket"

  bucket             = aws_s3_bucket.audit.id
  bucket_arn         = aws_s3_bucket.audit.arn
  kms_key_arn        = module.security_key.arn
  policy_json        = data.aws_iam_policy_document.audit_bucket.json
  access_logs_bucket = var.s3_access_logs_bucket

  lifecycle_rule_id                  = "archive-then-expire"
  glacier_transition_days            = var.trail_glacier_transition_days
  expiration_days                    = var.trail_log_retention_days
  noncurrent_version_expiration_days = 90
}

data "aws_iam_policy_document" "audit_bucket" {
  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.audit.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.audit.arn}/${local.trail_prefix}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  statement {
    sid       = "ConfigAclCheck"
    actions   = ["s3:GetBucketAcl", "s3:ListBucket"]
    resources = [aws_s3_bucket.audit.arn]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "ConfigWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.audit.arn}/${local.config_prefix}/AWSLogs/${local.account_id}/Config/*"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }
}

# --- Notifications -------------------------------------------------------------

resource "aws_sns_topic" "security_findings" {
  name              = "${var.name}-security-findings"
  kms_master_key_id = module.security_key.arn

  tags = var.tags
}

data "aws_iam_policy_document" "security_findings_topic" {
  statement {
    sid       = "EventBridgePublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.security_findings.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # The CIS alarms (cis_alarms.tf).
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.security_findings.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "security_findings" {
  arn    = aws_sns_topic.security_findings.arn
  policy = data.aws_iam_policy_document.security_findings_topic.json
}

resource "aws_sns_topic_subscription" "security_findings_email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.security_findings.arn
  protocol  = "email"
  endpoint  = each.value
}

# Findings also reach the on-call Slack channel through AWS Chatbot, not only
# e-mail. The Slack workspace must have been authorised for Chatbot once in
# the console (an OAuth step Terraform cannot do); then this is all code.
module "chatbot_role" {
  source = "../service-role"
  count  = var.alert_slack_channel == null ? 0 : 1

  name             = "${var.name}-security-chatbot"
  service          = "chatbot.amazonaws.com"
  managed_policies = ["AWSResourceExplorerReadOnlyAccess"]

  tags = var.tags
}

resource "aws_chatbot_slack_channel_configuration" "security_findings" {
  count = var.alert_slack_channel == null ? 0 : 1

  configuration_name    = "${var.name}-security-findings"
  iam_role_arn          = module.chatbot_role[0].arn
  slack_team_id         = var.alert_slack_channel.workspace_id
  slack_channel_id      = var.alert_slack_channel.channel_id
  sns_topic_arns        = [aws_sns_topic.security_findings.arn]
  guardrail_policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
  logging_level         = "ERROR"

  tags = var.tags
}

resource "aws_sns_topic" "cloudtrail" {
  name              = "${var.name}-cloudtrail-delivery"
  kms_master_key_id = module.security_key.arn

  tags = var.tags
}

data "aws_iam_policy_document" "cloudtrail_topic" {
  statement {
    sid       = "CloudTrailPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.cloudtrail.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

resource "aws_sns_topic_policy" "cloudtrail" {
  arn    = aws_sns_topic.cloudtrail.arn
  policy = data.aws_iam_policy_document.cloudtrail_topic.json
}

# --- CloudTrail ----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "cloudtrail" {
  name              = "/aws/cloudtrail/${local.trail_name}"
  retention_in_days = var.cloudwatch_log_retention_days
  kms_key_id        = module.security_key.arn

  tags = var.tags
}

module "cloudtrail_role" {
  source = "../service-role"

  name       = "${var.name}-cloudtrail-logs"
  service    = "cloudtrail.amazonaws.com"
  source_arn = local.trail_arn

  tags = var.tags
}

data "aws_iam_policy_document" "cloudtrail_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.cloudtrail.arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "cloudtrail" {
  name   = "write-cloudtrail-logs"
  role   = module.cloudtrail_role.name
  policy = data.aws_iam_policy_document.cloudtrail_logs.json
}

resource "aws_cloudtrail" "this" {
  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.audit.id
  s3_key_prefix                 = local.trail_prefix
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  enable_logging                = true
  kms_key_id                    = module.security_key.arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.cloudtrail.arn}:*"
  cloud_watch_logs_role_arn     = module.cloudtrail_role.arn
  sns_topic_name                = aws_sns_topic.cloudtrail.arn

  # "All API calls": every management event, plus the data events of S3
  # objects (except this trail's own bucket, whose every log delivery would
  # be logged again) and of Lambda invocations.
  advanced_event_selector {
    name = "Management events"

    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
  }

  advanced_event_selector {
    name = "S3 object data events"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }

    field_selector {
      field           = "resources.ARN"
      not_starts_with = ["${aws_s3_bucket.audit.arn}/"]
    }
  }

  advanced_event_selector {
    name = "Lambda invocation data events"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::Lambda::Function"]
    }
  }

  tags = var.tags

  depends_on = [
    module.audit_bucket,
    aws_sns_topic_policy.cloudtrail,
  ]
}

# --- AWS Config ----------------------------------------------------------------

module "config_role" {
  source = "../service-role"

  name             = "${var.name}-config-recorder"
  service          = "config.amazonaws.com"
  source_account   = local.account_id
  managed_policies = ["service-role/AWS_ConfigRole"]

  tags = var.tags
}

data "aws_iam_policy_document" "config_delivery" {
  statement {
    sid       = "DeliverSnapshots"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.audit.arn}/${local.config_prefix}/AWSLogs/${local.account_id}/*"]

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  statement {
    sid       = "CheckBucket"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.audit.arn]
  }

  statement {
    sid       = "EncryptSnapshots"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [module.security_key.arn]
  }
}

resource "aws_iam_role_policy" "config" {
  name   = "deliver-config-snapshots"
  role   = module.config_role.name
  policy = data.aws_iam_policy_document.config_delivery.json
}

resource "aws_config_configuration_recorder" "this" {
  name     = "${var.name}-recorder"
  role_arn = module.config_role.arn

  recording_group {
    all_supported                 = true
    include_global_resource_types = true
  }
}

resource "aws_config_delivery_channel" "this" {
  name           = "${var.name}-delivery"
  s3_bucket_name = aws_s3_bucket.audit.id
  s3_key_prefix  = local.config_prefix
  s3_kms_key_arn = module.security_key.arn

  snapshot_delivery_properties {
    delivery_frequency = "TwentyFour_Hours"
  }

  depends_on = [
    aws_config_configuration_recorder.this,
    module.audit_bucket,
  ]
}

resource "aws_config_configuration_recorder_status" "this" {
  name       = aws_config_configuration_recorder.this.name
  is_enabled = true

  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_config_config_rule" "managed" {
  for_each = var.config_rules

  name = each.key

  source {
    owner             = "AWS"
    source_identifier = each.value
  }

  tags = var.tags

  depends_on = [aws_config_configuration_recorder_status.this]
}

# --- GuardDuty -----------------------------------------------------------------

resource "aws_guardduty_detector" "this" {
  #checkov:skip=CKV2_AWS_3:Each environment is a standalone member account; organization-wide auto-enable (aws_guardduty_organization_configuration) can only be set from the organization's delegated GuardDuty administrator, which is not managed here. The detector itself is enabled in this account and region.
  enable                       = true
  finding_publishing_frequency = var.guardduty_finding_frequency

  tags = var.tags
}

resource "aws_guardduty_detector_feature" "this" {
  for_each = toset(["EKS_AUDIT_LOGS", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"])

  detector_id = aws_guardduty_detector.this.id
  name        = each.value
  status      = "ENABLED"
}

# Runtime Monitoring of the EKS nodes and pods (process, file, network
# events), with GuardDuty managing its security agent as an EKS add-on and
# creating the VPC endpoint the agent reports through.
resource "aws_guardduty_detector_feature" "runtime_monitoring" {
  detector_id = aws_guardduty_detector.this.id
  name        = "RUNTIME_MONITORING"
  status      = "ENABLED"

  additional_configuration {
    name   = "EKS_ADDON_MANAGEMENT"
    status = "ENABLED"
  }
}

resource "aws_cloudwatch_event_rule" "guardduty_findings" {
  name        = "${var.name}-guardduty-findings"
  description = "GuardDuty findings of severity ${var.guardduty_min_severity} and above"

  event_pattern = jsonencode({
    source        = ["aws.guardduty"]
    "detail-type" = ["GuardDuty Finding"]
    detail = {
      severity = [{ numeric = [">=", var.guardduty_min_severity] }]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "guardduty_findings" {
  rule      = aws_cloudwatch_event_rule.guardduty_findings.name
  target_id = "security-findings-topic"
  arn       = aws_sns_topic.security_findings.arn
}

# --- Security Hub --------------------------------------------------------------

resource "aws_securityhub_account" "this" {
  count = var.enable_security_hub ? 1 : 0

  enable_default_standards  = false
  control_finding_generator = "SECURITY_CONTROL"
  auto_enable_controls      = true
}

resource "aws_securityhub_standards_subscription" "fsbp" {
  count = var.enable_security_hub ? 1 : 0

  standards_arn = "arn:${local.partition}:securityhub:${local.region}::standards/aws-foundational-security-best-practices/v/1.0.0"

  depends_on = [aws_securityhub_account.this]
}

resource "aws_cloudwatch_event_rule" "securityhub_findings" {
  count = var.enable_security_hub ? 1 : 0

  name        = "${var.name}-securityhub-critical"
  description = "Security Hub findings of HIGH and CRITICAL severity that are new"

  event_pattern = jsonencode({
    source        = ["aws.securityhub"]
    "detail-type" = ["Security Hub Findings - Imported"]
    detail = {
      findings = {
        Severity = { Label = ["HIGH", "CRITICAL"] }
        Workflow = { Status = ["NEW"] }
      }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "securityhub_findings" {
  count = var.enable_security_hub ? 1 : 0

  rule      = aws_cloudwatch_event_rule.securityhub_findings[0].name
  target_id = "security-findings-topic"
  arn       = aws_sns_topic.security_findings.arn
}
