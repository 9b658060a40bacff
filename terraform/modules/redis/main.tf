# ElastiCache Redis replication group: encryption at rest (KMS) and in transit,
# an AUTH token generated into Secrets Manager and read back from there, daily
# snapshots, multi-AZ automatic failover, slow/engine logs, and a security
# group open on 6379 to the EKS nodes only.

module "redis_key" {
  source = "../kms-key"

  description           = "${var.replication_group_id} data at rest, AUTH token secret and logs"
  alias_name            = "alias/${var.replication_group_id}"
  allow_cloudwatch_logs = true

  tags = var.tags
}

# --- AUTH token ----------------------------------------------------------------

# Redis AUTH accepts printable ASCII except space, '"', '/' and '@'. A new
# auth_rotated_on issues a new token (runbooks/PRODUCTION_RUNBOOK.md,
# Redis AUTH token rotation).
resource "random_password" "auth_token" {
  length           = 64
  special          = true
  override_special = "!&#$^<>-"

  keepers = {
    rotated_on = var.auth_rotated_on
  }
}

resource "aws_secretsmanager_secret" "auth_token" {
  #checkov:skip=CKV2_AWS_57:The AUTH token is rotated by Terraform together with the replication group (auth_rotated_on, ROTATE then SET; runbooks/PRODUCTION_RUNBOOK.md); a Secrets Manager rotation Lambda would change the secret without updating the replication group and lock every client out.
  name                    = "${var.replication_group_id}/auth-token"
  description             = "AUTH token of the ${var.replication_group_id} replication group"
  kms_key_id              = module.redis_key.arn
  recovery_window_in_days = 30

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  secret_id     = aws_secretsmanager_secret.auth_token.id
  secret_string = random_password.auth_token.result
}

# --- Network -------------------------------------------------------------------

resource "aws_elasticache_subnet_group" "this" {
  name        = var.replication_group_id
  description = "Database subnets of ${var.replication_group_id}"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.replication_group_id}-cache"
  description = "Redis ${var.replication_group_id}: 6379 from the EKS nodes only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.replication_group_id}-cache" })
}

resource "aws_vpc_security_group_ingress_rule" "from_nodes" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from the EKS nodes"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = var.tags
}

# --- Logs ----------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "redis" {
  for_each = toset(["slow-log", "engine-log"])

  name              = "/aws/elasticache/${var.replication_group_id}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.redis_key.arn

  tags = var.tags
}

# --- Replication group ---------------------------------------------------------

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.replication_group_id
  description          = "Oh My Coins cache (${var.replication_group_id})"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.num_cache_clusters
  parameter_group_name = var.parameter_group_name
  port                 = 6379

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  automatic_failover_enabled = true
  multi_az_enabled           = true

  at_rest_encryption_enabled = true
  kms_key_id                 = module.redis_key.arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.auth_token.secret_string
  # ROTATE keeps the previous token valid while clients move to the new one;
  # SET (the steady state) leaves only the current token valid.
  auth_token_update_strategy = var.auth_keep_previous ? "ROTATE" : "SET"

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  final_snapshot_identifier  = "${var.replication_group_id}-final"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  dynamic "log_delivery_configuration" {
    for_each = aws_cloudwatch_log_group.redis

    content {
      destination      = log_delivery_configuration.value.name
      destination_type = "cloudwatch-logs"
      log_format       = "json"
      log_type         = log_delivery_configuration.key
    }
  }

  tags = var.tags
}
