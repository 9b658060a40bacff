# The Secrets Manager secrets the platform's workloads read through the
# External Secrets Operator (deploy/k8s), as KMS-encrypted containers. Their
# values (database user, Redis URL, API keys) are written by the operators'
# bootstrap, never by Terraform: nothing secret enters the state or the code.

module "secrets_key" {
  source = "../kms-key"

  description = "${var.prefix} application secrets"
  alias_name  = "alias/${replace(var.prefix, "/", "-")}-app-secrets"

  tags = var.tags
}

# Replicas in the DR region, encrypted with a key of that region: a regional
# restore of the workloads finds their configuration there.
data "aws_region" "dr" {
  provider = aws.dr
}

module "replica_key" {
  source = "../kms-key"
  count  = var.replicate_to_dr ? 1 : 0

  providers = {
    aws = aws.dr
  }

  description = "${var.prefix} application secrets (DR replicas)"
  alias_name  = "alias/${replace(var.prefix, "/", "-")}-app-secrets"

  tags = var.tags
}

resource "aws_secretsmanager_secret" "component" {
  #checkov:skip=CKV2_AWS_57:Each secret is a multi-field bundle (database user, Redis URL, third-party API keys) written by the operators' bootstrap; no single rotation Lambda can rotate it. The database password inside rotates through the database runbook.
  for_each = toset(var.components)

  name                    = "${var.prefix}/${each.value}"
  description             = "Configuration secrets of ${each.value}, read by its ExternalSecret"
  kms_key_id              = module.secrets_key.arn
  recovery_window_in_days = var.recovery_window_days

  dynamic "replica" {
    for_each = var.replicate_to_dr ? [module.replica_key[0].arn] : []

    content {
      region     = data.aws_region.dr.name
      kms_key_id = replica.value
    }
  }

  tags = merge(var.tags, { Component = each.value })
}
