# The backend's own storage. First apply of a new account: `ohmc-infra
# bootstrap ENV` creates the bucket, key and table, and imports.tf adopts them
# (terraform/README.md, "Bootstrapping an account").

module "state" {
  source = "../../modules/state-bootstrap"

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  state_bucket_name       = var.state_bucket
  lock_table_name         = var.lock_table
  access_logs_bucket_name = "${local.name}-s3-access-logs-${var.account_id}"
  replica_bucket_name     = var.dr_replication ? "${var.state_bucket}-${var.dr_region}" : null
  tags                    = local.tags
}
