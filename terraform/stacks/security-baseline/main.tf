# Account guardrails, applied right after the backend exists and before any
# workload: everything created afterwards is recorded, trailed and watched.

data "terraform_remote_state" "state_bootstrap" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/state-bootstrap.tfstate"
    region = var.region
  }
}

module "security_baseline" {
  source = "../../modules/security-baseline"

  name                        = local.name
  s3_access_logs_bucket       = data.terraform_remote_state.state_bootstrap.outputs.access_logs_bucket_name
  trail_log_retention_days    = var.audit_log_retention_days
  audit_object_lock_mode      = var.audit_object_lock_mode
  audit_object_lock_days      = var.audit_object_lock_days
  guardduty_finding_frequency = var.guardduty_finding_frequency
  enable_security_hub         = var.enable_security_hub
  alert_emails                = var.security_alert_emails
  alert_slack_channel         = var.security_alert_slack_channel
  tags                        = local.tags
}
