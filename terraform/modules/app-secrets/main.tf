# The Secrets Manager secrets the platform's workloads read through the
# External Secrets Operator (deploy/k8s), as KMS-encrypted containers. Their
# values (database user, Redis URL, API keys) are written by the operators'
# bootstrap, never by Terraform: nothing secret enters the state or the code.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_kms_key" "secrets" {
  description             = "${var.prefix} application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # A key policy is a resource policy: "Resource": "*" means this key.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]
  })

  tags = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${replace(var.prefix, "/", "-")}-app-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_secretsmanager_secret" "component" {
  #checkov:skip=CKV2_AWS_57:Each secret is a multi-field bundle (database user, Redis URL, third-party API keys) written by the operators' bootstrap; no single rotation Lambda can rotate it. The database password inside rotates through the database runbook.
  for_each = toset(var.components)

  name                    = "${var.prefix}/${each.value}"
  description             = "Configuration secrets of ${each.value}, read by its ExternalSecret"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days

  tags = merge(var.tags, { Component = each.value })
}
