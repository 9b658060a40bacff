# The buckets `ohmc-infra dr-drill --target-region` moves Redis through
# (ElastiCache cannot copy a snapshot across regions): the export bucket in
# this region, the import bucket in the DR region. Created when the
# environment names them; environment.hcl's drill block must name the same
# (tests/it/platform_code checks both). runbooks/DISASTER_RECOVERY.md, Redis
# across regions.

data "aws_region" "current" {}

data "aws_region" "dr" {
  provider = aws.dr
}

resource "aws_s3_bucket" "drill_redis_export" {
  #checkov:skip=CKV_AWS_145:ElastiCache's export and import are documented with access granted through the bucket policy to its regional service principal only, not with a customer-managed KMS key; these transient drill copies (deleted by dr-drill cleanup, expired after 7 days) use SSE-S3.
  #checkov:skip=CKV_AWS_144:A transient drill copy of a Redis snapshot; the drill itself is the cross-region copy.
  #checkov:skip=CKV2_AWS_62:The drill polls for its exported objects; nothing consumes bucket events.
  #checkov:skip=CKV_AWS_18:Every object access is recorded by the multi-region trail's S3 data events (security-baseline); the objects live for one drill.
  count = var.drill_redis_export_bucket == null ? 0 : 1

  bucket        = var.drill_redis_export_bucket
  force_destroy = false

  tags = local.tags
}

resource "aws_s3_bucket" "drill_redis_import" {
  #checkov:skip=CKV_AWS_145:ElastiCache's export and import are documented with access granted through the bucket policy to its regional service principal only, not with a customer-managed KMS key; these transient drill copies (deleted by dr-drill cleanup, expired after 7 days) use SSE-S3.
  #checkov:skip=CKV_AWS_144:A transient drill copy of a Redis snapshot, already in the DR region.
  #checkov:skip=CKV2_AWS_62:The drill restores from named objects; nothing consumes bucket events.
  #checkov:skip=CKV_AWS_18:Every object access is recorded by the multi-region trail's S3 data events (security-baseline); the objects live for one drill.
  count    = var.drill_redis_import_bucket == null ? 0 : 1
  provider = aws.dr

  bucket        = var.drill_redis_import_bucket
  force_destroy = false

  tags = local.tags
}

# ElastiCache reads and writes through its regional service principal.
data "aws_iam_policy_document" "drill_redis_export" {
  count = var.drill_redis_export_bucket == null ? 0 : 1

  statement {
    sid       = "ElastiCacheExport"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl", "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.drill_redis_export[0].arn, "${aws_s3_bucket.drill_redis_export[0].arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["${data.aws_region.current.name}.elasticache-snapshot.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "drill_redis_import" {
  count = var.drill_redis_import_bucket == null ? 0 : 1

  statement {
    sid       = "ElastiCacheImport"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"]
    resources = [aws_s3_bucket.drill_redis_import[0].arn, "${aws_s3_bucket.drill_redis_import[0].arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["${data.aws_region.dr.name}.elasticache-snapshot.amazonaws.com"]
    }
  }
}

module "drill_redis_export_bucket" {
  source = "../../modules/private-bucket"
  count  = var.drill_redis_export_bucket == null ? 0 : 1

  bucket      = aws_s3_bucket.drill_redis_export[0].id
  bucket_arn  = aws_s3_bucket.drill_redis_export[0].arn
  policy_json = data.aws_iam_policy_document.drill_redis_export[0].json

  lifecycle_rule_id                  = "expire-drill-exports"
  expiration_days                    = 7
  noncurrent_version_expiration_days = 1
}

module "drill_redis_import_bucket" {
  source = "../../modules/private-bucket"
  count  = var.drill_redis_import_bucket == null ? 0 : 1

  providers = {
    aws = aws.dr
  }

  bucket      = aws_s3_bucket.drill_redis_import[0].id
  bucket_arn  = aws_s3_bucket.drill_redis_import[0].arn
  policy_json = data.aws_iam_policy_document.drill_redis_import[0].json

  lifecycle_rule_id                  = "expire-drill-imports"
  expiration_days                    = 7
  noncurrent_version_expiration_days = 1
}
