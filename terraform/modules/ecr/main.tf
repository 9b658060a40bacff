# ECR repositories for the platform's images: immutable tags, scan on push,
# KMS encryption and lifecycle policies that expire untagged and old images.

data "aws_caller_identity" "current" {}

module "ecr_key" {
  source = "../kms-key"

  description = "${var.name} container images"

  tags = var.tags
}

resource "aws_ecr_repository" "this" {
  for_each = toset(var.repositories)

  name                 = "${var.name}-${each.value}"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.ecr_key.arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the most recent release images"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["v"]
          countType     = "imageCountMoreThan"
          countNumber   = var.max_release_images
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the most recent other images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.max_release_images + var.max_other_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# --- Disaster recovery ---------------------------------------------------------

# Every image pushed to these repositories is replicated to the DR region's
# registry (same account), so a regional restore finds its images there.
# Registry-wide: one replication configuration per account.
resource "aws_ecr_replication_configuration" "dr" {
  count = var.replication_region == null ? 0 : 1

  replication_configuration {
    rule {
      destination {
        region      = var.replication_region
        registry_id = data.aws_caller_identity.current.account_id
      }

      repository_filter {
        filter      = "${var.name}-"
        filter_type = "PREFIX_MATCH"
      }
    }
  }
}

# Cross-account pull for promotion: production copies the image staging tested
# into its own registry (scripts/deploy.sh --promote-from) instead of pulling
# across accounts at run time.
resource "aws_ecr_repository_policy" "pull" {
  for_each = length(var.pull_account_ids) > 0 ? aws_ecr_repository.this : {}

  repository = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "PromotionPull"
        Effect    = "Allow"
        Principal = { AWS = [for id in var.pull_account_ids : "arn:aws:iam::${id}:root"] }
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:DescribeImages",
          "ecr:GetDownloadUrlForLayer",
        ]
      },
    ]
  })
}
