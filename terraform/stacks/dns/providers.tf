provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

# Route53 query logs go to CloudWatch Logs in us-east-1, whatever the region.
provider "aws" {
  alias               = "us_east_1"
  region              = "us-east-1"
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

# The account of the parent zone: staging's NS record goes into production's
# ohmycoins.io through the delegation role production's dns stack creates.
# Without a parent zone this is the environment's own account (and unused).
provider "aws" {
  alias  = "parent_zone"
  region = var.region

  dynamic "assume_role" {
    for_each = var.dns_parent_zone == null ? [] : [var.dns_parent_zone.delegation_role_arn]

    content {
      role_arn     = assume_role.value
      session_name = "${local.name}-dns-delegation"
    }
  }
}

locals {
  name = "ohmc-${var.environment}"
  tags = merge(var.extra_tags, {
    Project     = "ohmycoins"
    Environment = var.environment
    ManagedBy   = "terraform"
    Stack       = "dns"
  })
}
