# The production checklist (terraform/README.md) for the data stack, for
# the environment whose tfvars the run is given:
#
#   terraform test -var-file=../../../environments/<env>/terraform.tfvars
#
# The providers are mocked: Terraform needs only their schemas (the real
# providers' or the schema stand-in's, tests/aws-standin), and nothing is
# created even where the real provider is installed. Assertions can only see
# a root module's own resources, so each module's checklist runs against that
# module, fed as main.tf feeds it from this environment's tfvars (upstream
# stacks' outputs become fixed ids). tests/it/terraform_judge.rs runs this per
# environment, checks the `variables` below against main.tf's module
# arguments, and proves that each assertion can fail (its negative cases).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  # Computed lists the configuration indexes ([0]): a mock leaves them empty.
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-master", kms_key_id = "k", secret_status = "active" }]
    }
  }
}

mock_provider "aws" {
  alias = "dr"
}

mock_provider "random" {}

variable "environment" {}
variable "rds_instance_class" {}
variable "rds_allocated_storage_gb" {}
variable "rds_max_allocated_storage_gb" {}
variable "rds_multi_az" {}
variable "rds_deletion_protection" {}
variable "rds_backup_retention_days" {}
variable "redis_node_type" {}
variable "redis_num_cache_clusters" {}
variable "redis_snapshot_retention_days" {}
variable "backup_daily_retention_days" {}
variable "backup_weekly_retention_days" {}
variable "backup_monthly_retention_days" {}
variable "backup_cross_region_copy" {}
variable "backup_vault_lock" {}
# Staging leaves it to the stack's default (variables.tf).
variable "backup_dr_retention_days" {
  default = 35
}

override_data {
  target = data.terraform_remote_state.network
  values = {
    outputs = {
      vpc_id              = "vpc-0123456789abcdef0"
      database_subnet_ids = ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"]
    }
  }
}

override_data {
  target = data.terraform_remote_state.platform
  values = {
    outputs = {
      eks_cluster_security_group_id = "sg-0123456789abcdef0"
    }
  }
}

variable "redis_auth_rotated_on" {}
variable "redis_auth_keep_previous" {
  default = false
}
variable "backup_vault_lock_mode" {
  default = "governance"
}

run "stack" {
  command = apply

  assert {
    condition     = output.rds_instance_ids == ["ohmc-${var.environment}-postgres"]
    error_message = "data.outputs: the RDS instance id ohmc-<env>-postgres reaches ohmc-infra"
  }
  assert {
    condition     = output.backup_vault_name == "ohmc-${var.environment}-vault"
    error_message = "data.backup_vault_output: the vault name ohmc-<env>-vault reaches ohmc-infra"
  }
}

run "rds" {
  command = apply

  module {
    source = "../../modules/rds"
  }

  variables {
    identifier                 = "ohmc-${var.environment}-postgres"
    vpc_id                     = "vpc-0123456789abcdef0"
    subnet_ids                 = ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"]
    allowed_security_group_ids = ["sg-0123456789abcdef0"]
    instance_class             = var.rds_instance_class
    allocated_storage_gb       = var.rds_allocated_storage_gb
    max_allocated_storage_gb   = var.rds_max_allocated_storage_gb
    multi_az                   = var.rds_multi_az
    deletion_protection        = var.rds_deletion_protection
    backup_retention_days      = var.rds_backup_retention_days
    tags                       = { "backup-plan" = "ohmc-${var.environment}" }
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection == (var.environment == "production")
    error_message = "rds.deletion_protection: on in production only"
  }
  assert {
    condition     = aws_db_instance.this.multi_az == (var.environment == "production")
    error_message = "rds.multi_az: multi-AZ in production only"
  }
  assert {
    condition     = aws_db_instance.this.backup_retention_period == (var.environment == "production" ? 35 : 7)
    error_message = "rds.backup_retention: 35 days in production, 7 in staging"
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted
    error_message = "rds.storage_encrypted: storage is encrypted"
  }
  assert {
    condition     = aws_db_instance.this.kms_key_id == module.rds_key.arn
    error_message = "rds.storage_kms_key: with the module's own KMS key"
  }
  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "rds.not_public: the database is not publicly accessible"
  }
  assert {
    condition     = !aws_db_instance.this.skip_final_snapshot && !aws_db_instance.this.delete_automated_backups
    error_message = "rds.final_snapshot: a final snapshot is taken and automated backups are kept"
  }
  assert {
    condition     = anytrue([for p in aws_db_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "rds.force_ssl: the parameter group forces TLS"
  }
  assert {
    condition     = aws_db_instance.this.copy_tags_to_snapshot
    error_message = "rds.copy_tags: snapshots carry the instance's tags (the backup-plan selection tag among them)"
  }
  assert {
    condition = alltrue([for r in aws_vpc_security_group_ingress_rule.from_nodes :
    r.from_port == 5432 && r.to_port == 5432 && r.cidr_ipv4 == null && r.referenced_security_group_id == "sg-0123456789abcdef0"])
    error_message = "sg.rds_from_nodes_only: 5432 from the node security group only, no CIDR"
  }
}

run "redis" {
  command = apply

  module {
    source = "../../modules/redis"
  }

  variables {
    auth_rotated_on            = var.redis_auth_rotated_on
    auth_keep_previous         = var.redis_auth_keep_previous
    replication_group_id       = "ohmc-${var.environment}-redis"
    vpc_id                     = "vpc-0123456789abcdef0"
    subnet_ids                 = ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"]
    allowed_security_group_ids = ["sg-0123456789abcdef0"]
    node_type                  = var.redis_node_type
    num_cache_clusters         = var.redis_num_cache_clusters
    snapshot_retention_days    = var.redis_snapshot_retention_days
    tags                       = {}
  }

  assert {
    condition = alltrue([for r in aws_vpc_security_group_ingress_rule.from_nodes :
    r.from_port == 6379 && r.to_port == 6379 && r.cidr_ipv4 == null && r.referenced_security_group_id == "sg-0123456789abcdef0"])
    error_message = "sg.redis_from_nodes_only: 6379 from the node security group only, no CIDR"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.transit_encryption_enabled && aws_elasticache_replication_group.this.at_rest_encryption_enabled
    error_message = "redis.encryption: TLS in transit and encryption at rest"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "redis.multi_az_failover: multi-AZ with automatic failover"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.snapshot_retention_limit == (var.environment == "production" ? 14 : 3)
    error_message = "redis.snapshot_retention: 14 days in production, 3 in staging"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == (var.environment == "production" ? 3 : 2)
    error_message = "redis.nodes: 3 nodes in production, 2 in staging"
  }
}

run "backup" {
  command = apply

  module {
    source = "../../modules/backup"
  }

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  variables {
    vault_lock_mode          = var.backup_vault_lock_mode
    name                     = "ohmc-${var.environment}"
    selection_tag_key        = "backup-plan"
    selection_tag_value      = "ohmc-${var.environment}"
    daily_retention_days     = var.backup_daily_retention_days
    weekly_retention_days    = var.backup_weekly_retention_days
    monthly_retention_days   = var.backup_monthly_retention_days
    enable_cross_region_copy = var.backup_cross_region_copy
    dr_retention_days        = var.backup_dr_retention_days
    enable_vault_lock        = var.backup_vault_lock
    tags                     = {}
  }

  assert {
    condition = (
      { for r in aws_backup_plan.this.rule : r.rule_name => one(r.lifecycle).delete_after } ==
      (var.environment == "production" ? { daily = 35, weekly = 90, monthly = 365 } : { daily = 7, weekly = 35, monthly = 90 })
    )
    error_message = "backup.plan_rules: daily/weekly/monthly retention per environment"
  }
  assert {
    condition     = aws_backup_vault.this.kms_key_arn == module.vault_key.arn
    error_message = "backup.vault_encrypted: the vault uses the module's KMS key"
  }
  assert {
    condition = alltrue([for r in aws_backup_plan.this.rule :
    length(r.copy_action) == (var.environment == "production" ? 1 : 0)])
    error_message = "backup.cross_region_copy: every rule copies to the DR region in production only"
  }
  assert {
    condition     = length(aws_backup_vault_lock_configuration.this) == (var.environment == "production" ? 1 : 0)
    error_message = "backup.vault_lock: the vault is locked in production only"
  }

  # Governance mode (no changeable_for_days) until a dr-drill has proven a
  # restore: a compliance lock can never be undone once its grace time ends.
  assert {
    condition     = alltrue([for lock in concat(aws_backup_vault_lock_configuration.this, aws_backup_vault_lock_configuration.dr) : lock.changeable_for_days == null])
    error_message = "backup.vault_lock_governance: every vault lock is in governance mode until the first proven restore"
  }
  assert {
    condition     = length(aws_backup_vault.dr) == (var.environment == "production" ? 1 : 0)
    error_message = "backup.dr_vault: a vault in the DR region in production only"
  }
  assert {
    condition = anytrue([for s in aws_backup_selection.by_tag.selection_tag :
    s.key == "backup-plan" && s.value == "ohmc-${var.environment}" && s.type == "STRINGEQUALS"])
    error_message = "backup.selection_by_tag: the selection picks resources by the backup-plan tag"
  }
}
