provider "aws" {
  region              = var.region
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
    Stack       = "iam"
  })
}
