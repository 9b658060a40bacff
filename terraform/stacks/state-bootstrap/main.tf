# The backend's own storage. First apply of a new account: see
# terraform/README.md "Bootstrapping an account" (local state, then
# `terraform init -migrate-state` into the bucket this stack creates).

module "state" {
  source = "../../modules/state-bootstrap"

  state_bucket_name       = var.state_bucket
  lock_table_name         = var.lock_table
  access_logs_bucket_name = "${local.name}-s3-access-logs-${var.account_id}"
  tags                    = local.tags
}
