# A customer-managed KMS key with rotation on, a 30-day deletion window and an
# inline key policy: account administration, the caller's own statements and,
# where the key encrypts CloudWatch log groups, the CloudWatch Logs service of
# this region. An alias is created when one is named.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  account_administration = [
    {
      Sid       = "AccountAdministration"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    },
  ]

  cloudwatch_logs_use = [
    {
      Sid       = "CloudWatchLogsUse"
      Effect    = "Allow"
      Principal = { Service = "logs.${local.region}.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = {
        ArnLike = {
          "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
        }
      }
    },
  ]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # A key policy is a resource policy: "Resource": "*" means this key.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      local.account_administration,
      var.policy_statements,
      var.allow_cloudwatch_logs ? local.cloudwatch_logs_use : [],
    )
  })

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.alias_name == null ? 0 : 1

  name          = var.alias_name
  target_key_id = aws_kms_key.this.key_id
}
