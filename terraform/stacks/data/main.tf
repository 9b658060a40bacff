# The data tier: RDS PostgreSQL (protected by the AWS Backup plan through its
# backup-plan tag, with copies to the DR region in production), ElastiCache
# Redis (its own daily snapshots; AWS Backup does not cover it), and the
# Secrets Manager secrets the workloads read through External Secrets.

data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/network.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "platform" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/platform.tfstate"
    region = var.region
  }
}

locals {
  network = data.terraform_remote_state.network.outputs
  # Only the EKS nodes reach the data stores.
  node_security_group_ids = [data.terraform_remote_state.platform.outputs.eks_cluster_security_group_id]
  # Resources carrying this tag are selected by the backup plan.
  backup_tags = merge(local.tags, { "backup-plan" = local.name })
}

module "rds" {
  source = "../../modules/rds"

  identifier                 = "${local.name}-postgres"
  vpc_id                     = local.network.vpc_id
  subnet_ids                 = local.network.database_subnet_ids
  allowed_security_group_ids = local.node_security_group_ids
  instance_class             = var.rds_instance_class
  allocated_storage_gb       = var.rds_allocated_storage_gb
  max_allocated_storage_gb   = var.rds_max_allocated_storage_gb
  multi_az                   = var.rds_multi_az
  deletion_protection        = var.rds_deletion_protection
  backup_retention_days      = var.rds_backup_retention_days
  tags                       = local.backup_tags
}

module "redis" {
  source = "../../modules/redis"

  replication_group_id       = "${local.name}-redis"
  vpc_id                     = local.network.vpc_id
  subnet_ids                 = local.network.database_subnet_ids
  allowed_security_group_ids = local.node_security_group_ids
  node_type                  = var.redis_node_type
  num_cache_clusters         = var.redis_num_cache_clusters
  snapshot_retention_days    = var.redis_snapshot_retention_days
  auth_rotated_on            = var.redis_auth_rotated_on
  auth_keep_previous         = var.redis_auth_keep_previous
  tags                       = local.tags
}

module "app_secrets" {
  source = "../../modules/app-secrets"

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  prefix          = "ohmc/${var.environment}"
  replicate_to_dr = var.dr_replication
  # monitoring: Alertmanager's receivers, Grafana's admin and the datastore
  # exporters' credentials (deploy/monitoring/manifests/externalsecrets.yaml).
  components = ["backend", "collectors", "agents", "monitoring"]
  tags       = local.tags
}

module "backup" {
  source = "../../modules/backup"

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  name                     = local.name
  selection_tag_key        = "backup-plan"
  selection_tag_value      = local.name
  daily_retention_days     = var.backup_daily_retention_days
  weekly_retention_days    = var.backup_weekly_retention_days
  monthly_retention_days   = var.backup_monthly_retention_days
  enable_cross_region_copy = var.backup_cross_region_copy
  dr_retention_days        = var.backup_dr_retention_days
  enable_vault_lock        = var.backup_vault_lock
  vault_lock_mode          = var.backup_vault_lock_mode
  tags                     = local.tags
}
