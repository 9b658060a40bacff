# An IAM role that one AWS service assumes, optionally restricted to this
# account or to one source ARN (confused-deputy protection), with AWS managed
# policies attached. Inline policies stay with the caller, next to what they
# grant access to.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = var.assume_actions

    principals {
      type        = "Service"
      identifiers = [var.service]
    }

    dynamic "condition" {
      for_each = var.source_account == null ? [] : [var.source_account]
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }

    dynamic "condition" {
      for_each = var.source_arn == null ? [] : [var.source_arn]
      content {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.managed_policies)

  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}
