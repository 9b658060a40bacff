# AWS Backup: a KMS-encrypted vault, a plan of daily, weekly and monthly rules,
# selection by tag; in production a cross-region copy to a vault in the DR
# region and Vault Lock on both vaults (governance until a drill proves a
# restore, then compliance).

locals {
  rules = {
    daily = {
      schedule       = "cron(0 3 * * ? *)"
      retention_days = var.daily_retention_days
    }
    weekly = {
      schedule       = "cron(0 4 ? * SUN *)"
      retention_days = var.weekly_retention_days
    }
    monthly = {
      schedule       = "cron(0 5 1 * ? *)"
      retention_days = var.monthly_retention_days
    }
  }

  # The lock admits exactly the retentions the plan asks for: a recovery
  # point kept shorter or longer than any rule (or copy) is refused.
  primary_retention_days = [for rule in local.rules : rule.retention_days]

  # Governance: users with backup:DeleteBackupVaultLockConfiguration can still
  # lift it, so a retention mistake found by the first restore can be fixed.
  # Compliance after changeable_for_days is irreversible; switch only after a
  # successful dr-drill (runbooks/DISASTER_RECOVERY.md, Vault Lock).
  lock_changeable_for_days = var.vault_lock_mode == "compliance" ? var.vault_lock_changeable_for_days : null
}

# AWS Backup uses the keys through grants created by the caller.
module "vault_key" {
  source = "../kms-key"

  description = "${var.name} backup vault"
  alias_name  = "alias/${var.name}-backup"

  tags = var.tags
}

resource "aws_backup_vault" "this" {
  name        = "${var.name}-vault"
  kms_key_arn = module.vault_key.arn

  tags = var.tags
}

resource "aws_backup_vault_lock_configuration" "this" {
  count = var.enable_vault_lock ? 1 : 0

  backup_vault_name   = aws_backup_vault.this.name
  min_retention_days  = min(local.primary_retention_days...)
  max_retention_days  = max(local.primary_retention_days...)
  changeable_for_days = local.lock_changeable_for_days
}

# --- Disaster-recovery region --------------------------------------------------

module "dr_key" {
  source = "../kms-key"
  count  = var.enable_cross_region_copy ? 1 : 0

  providers = {
    aws = aws.dr
  }

  description = "${var.name} backup vault (DR copies)"

  tags = var.tags
}

resource "aws_backup_vault" "dr" {
  count    = var.enable_cross_region_copy ? 1 : 0
  provider = aws.dr

  name        = "${var.name}-vault-dr"
  kms_key_arn = module.dr_key[0].arn

  tags = var.tags
}

resource "aws_backup_vault_lock_configuration" "dr" {
  count    = var.enable_cross_region_copy && var.enable_vault_lock ? 1 : 0
  provider = aws.dr

  backup_vault_name   = aws_backup_vault.dr[0].name
  min_retention_days  = var.dr_retention_days
  max_retention_days  = var.dr_retention_days
  changeable_for_days = local.lock_changeable_for_days
}

# --- Plan ----------------------------------------------------------------------

resource "aws_backup_plan" "this" {
  name = "${var.name}-plan"

  dynamic "rule" {
    for_each = local.rules

    content {
      rule_name                    = rule.key
      target_vault_name            = aws_backup_vault.this.name
      schedule                     = rule.value.schedule
      schedule_expression_timezone = var.schedule_timezone
      start_window                 = 60
      completion_window            = 360

      lifecycle {
        delete_after = rule.value.retention_days
      }

      dynamic "copy_action" {
        for_each = var.enable_cross_region_copy ? [aws_backup_vault.dr[0].arn] : []

        content {
          destination_vault_arn = copy_action.value

          lifecycle {
            delete_after = var.dr_retention_days
          }
        }
      }

      recovery_point_tags = merge(var.tags, { backup-rule = rule.key })
    }
  }

  tags = var.tags
}

module "backup_role" {
  source = "../service-role"

  name    = "${var.name}-backup"
  service = "backup.amazonaws.com"
  managed_policies = [
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
  ]

  tags = var.tags
}

resource "aws_backup_selection" "by_tag" {
  name         = "${var.name}-by-tag"
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = module.backup_role.arn

  selection_tag {
    type  = "STRINGEQUALS"
    key   = var.selection_tag_key
    value = var.selection_tag_value
  }
}
