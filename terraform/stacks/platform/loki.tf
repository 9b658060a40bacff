# Loki's object store (chunks, index and ruler data), written only by Loki's
# IRSA role (terraform/stacks/iam, ohmc-<env>-loki). The name is the one
# deploy/monitoring/env/<env>.yaml gives Loki as lokiBucket.

data "terraform_remote_state" "state_bootstrap" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/state-bootstrap.tfstate"
    region = var.region
  }
}

module "loki_key" {
  source = "../../modules/kms-key"

  description = "${local.name} Loki log store"
  alias_name  = "alias/${local.name}-loki"

  tags = local.tags
}

resource "aws_s3_bucket" "loki" {
  #checkov:skip=CKV_AWS_144:Logs are kept for the Loki retention only (7 to 30 days) and are re-collected from the nodes after a regional outage; a cross-region replica would double the cost of a diagnostic store.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events of Loki's chunks; Loki itself is the only reader.
  bucket        = "${local.name}-loki-chunks"
  force_destroy = false

  tags = local.tags
}

module "loki_bucket" {
  source = "../../modules/private-bucket"

  bucket             = aws_s3_bucket.loki.id
  bucket_arn         = aws_s3_bucket.loki.arn
  kms_key_arn        = module.loki_key.arn
  access_logs_bucket = data.terraform_remote_state.state_bootstrap.outputs.access_logs_bucket_name

  # Loki's compactor deletes expired chunks itself; the lifecycle rule only
  # catches what a broken compactor leaves behind.
  lifecycle_rule_id                  = "expire-loki-chunks"
  expiration_days                    = var.loki_object_expiration_days
  noncurrent_version_expiration_days = 7
}
