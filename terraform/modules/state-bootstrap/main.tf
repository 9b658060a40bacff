# Backend bootstrap: the KMS-encrypted, versioned S3 state bucket, the
# DynamoDB lock table, and the bucket that takes the S3 server access logs of
# every bucket in the account (created first, so everything else can log to it).

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

module "state_key" {
  source = "../kms-key"

  description = "Terraform state and lock table"
  alias_name  = "alias/terraform-state"

  tags = var.tags
}

# --- S3 server access logs -----------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target itself; logging it into itself would loop and logging it elsewhere only moves the problem.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 on the target bucket.
  #checkov:skip=CKV_AWS_144:Access logs are diagnostic data kept in-region; a replica bucket would need the same exemption.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events of access logs; they are queried on demand.
  bucket        = var.access_logs_bucket_name
  force_destroy = false

  tags = var.tags
}

module "access_logs_bucket" {
  source = "../private-bucket"

  bucket      = aws_s3_bucket.access_logs.id
  bucket_arn  = aws_s3_bucket.access_logs.arn
  policy_json = data.aws_iam_policy_document.access_logs.json

  lifecycle_rule_id                  = "expire-access-logs"
  expiration_days                    = var.access_log_retention_days
  noncurrent_version_expiration_days = 30
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- State bucket --------------------------------------------------------------

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:Every state version is kept (versioning, 90-day noncurrent window) and the lock table has PITR; a replica would hold state of resources in a region that is gone, so regional DR re-plans the stacks from code instead.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-change events; changes are audited through CloudTrail and the lock table.
  bucket        = var.state_bucket_name
  force_destroy = false

  tags = var.tags
}

module "state_bucket" {
  source = "../private-bucket"

  bucket      = aws_s3_bucket.state.id
  bucket_arn  = aws_s3_bucket.state.arn
  kms_key_arn = module.state_key.arn
  # The name, not aws_s3_bucket.access_logs.id: private-bucket counts its
  # logging resource on this value, and a bucket's id is unknown until it is
  # created, so a first plan in a fresh account failed ("Invalid count
  # argument"; found by terraform test, stacks/state-bootstrap/tests).
  access_logs_bucket = var.access_logs_bucket_name
  policy_json        = data.aws_iam_policy_document.state.json

  lifecycle_rule_id                  = "expire-superseded-state"
  noncurrent_version_expiration_days = var.noncurrent_state_retention_days

  # The log target must exist before logging is configured into it.
  depends_on = [aws_s3_bucket.access_logs]
}

# State is read and written by this account's principals only; `ohmc-infra
# bootstrap` writes the same statement, so adopting its bucket changes nothing.
data "aws_iam_policy_document" "state" {
  statement {
    sid       = "DenyOtherAccounts"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }
}

# --- Lock table ----------------------------------------------------------------

resource "aws_dynamodb_table" "lock" {
  name                        = var.lock_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true

  attribute {
    name = "LockID"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.state_key.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}
