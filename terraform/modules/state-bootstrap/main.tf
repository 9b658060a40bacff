# Backend bootstrap: the KMS-encrypted, versioned S3 state bucket, the
# DynamoDB lock table, and the bucket that takes the S3 server access logs of
# every bucket in the account (created first, so everything else can log to it).
# Where replica_bucket_name is set (production), every state version is also
# replicated to a bucket in the aws.dr region.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  replicate  = var.replica_bucket_name != null
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
  #checkov:skip=CKV_AWS_144:Replicated to the DR region where replica_bucket_name is set (production, aws_s3_bucket_replication_configuration.state below); staging keeps every version in-region only (versioning, 90-day noncurrent window, lock table with PITR).
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

# --- State replica in the DR region ---------------------------------------------

module "replica_key" {
  source = "../kms-key"
  count  = local.replicate ? 1 : 0

  providers = {
    aws = aws.dr
  }

  description = "Terraform state replica"
  alias_name  = "alias/terraform-state"

  tags = var.tags
}

resource "aws_s3_bucket" "state_replica" {
  #checkov:skip=CKV_AWS_144:This is the cross-region replica of the state bucket; replicating it again would only add a third copy.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-change events; the replica is read only in a regional recovery.
  #checkov:skip=CKV_AWS_18:Only S3 replication writes here; any other access is recorded by the multi-region trail's S3 data events (security-baseline), and an access-log bucket in the DR region would exist for this bucket alone.
  count    = local.replicate ? 1 : 0
  provider = aws.dr

  bucket        = var.replica_bucket_name
  force_destroy = false

  tags = var.tags
}

module "state_replica_bucket" {
  source = "../private-bucket"
  count  = local.replicate ? 1 : 0

  providers = {
    aws = aws.dr
  }

  bucket      = aws_s3_bucket.state_replica[0].id
  bucket_arn  = aws_s3_bucket.state_replica[0].arn
  kms_key_arn = module.replica_key[0].arn

  lifecycle_rule_id                  = "expire-superseded-state"
  noncurrent_version_expiration_days = var.noncurrent_state_retention_days
}

module "replication_role" {
  source = "../service-role"
  count  = local.replicate ? 1 : 0

  name           = "${var.state_bucket_name}-replication"
  service        = "s3.amazonaws.com"
  source_account = local.account_id

  tags = var.tags
}

data "aws_iam_policy_document" "replication" {
  count = local.replicate ? 1 : 0

  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadSourceVersions"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }

  statement {
    sid       = "WriteReplica"
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${aws_s3_bucket.state_replica[0].arn}/*"]
  }

  statement {
    sid       = "DecryptSource"
    actions   = ["kms:Decrypt"]
    resources = [module.state_key.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "EncryptReplica"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.replica_key[0].arn]
  }
}

resource "aws_iam_role_policy" "replication" {
  count = local.replicate ? 1 : 0

  name   = "replicate-state"
  role   = module.replication_role[0].name
  policy = data.aws_iam_policy_document.replication[0].json
}

resource "aws_s3_bucket_replication_configuration" "state" {
  count = local.replicate ? 1 : 0

  bucket = aws_s3_bucket.state.id
  role   = module.replication_role[0].arn

  rule {
    id     = "state-to-dr-region"
    status = "Enabled"

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.state_replica[0].arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = module.replica_key[0].arn
      }
    }
  }

  # Replication needs versioning on both sides, which the hardening enables.
  depends_on = [
    module.state_bucket,
    module.state_replica_bucket,
    aws_iam_role_policy.replication,
  ]
}
