provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

# The disaster-recovery region: receives the state replica.
provider "aws" {
  alias               = "dr"
  region              = var.dr_region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

locals {
  name = "ohmc-${var.environment}"
  tags = merge(var.extra_tags, {
    Project     = "ohmycoins"
    Environment = var.environment
    ManagedBy   = "terraform"
    Stack       = "state-bootstrap"
  })
}
