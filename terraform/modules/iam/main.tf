# Identities: the GitHub Actions deploy role (OIDC, pinned to repository and
# environment), the read-only audit role `ohmc-infra` assumes, and IRSA roles
# for the platform's Kubernetes service accounts.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  github_oidc_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  cluster_arn     = "arn:${local.partition}:eks:${local.region}:${local.account_id}:cluster/${var.eks_cluster_name}"
}

# --- GitHub Actions deploy role ------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # GitHub's published intermediate thumbprints; AWS also validates the chain
  # against its own trust store for this provider.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]

  tags = var.tags
}

data "aws_iam_policy_document" "deploy_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for repo in var.github_repositories : "repo:${repo}:environment:${var.github_environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-github-deploy"
  description          = "GitHub Actions deploy: push images, roll out to ${var.eks_cluster_name}"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:DescribeImageScanFindings",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }

  # Promotion: copy the image another account's registry tested.
  dynamic "statement" {
    for_each = length(var.ecr_promotion_source_arns) > 0 ? [var.ecr_promotion_source_arns] : []

    content {
      sid = "EcrPullForPromotion"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = statement.value
    }
  }

  statement {
    sid       = "EksDescribe"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "push-and-roll-out"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

resource "aws_eks_access_entry" "deploy" {
  cluster_name  = var.eks_cluster_name
  principal_arn = aws_iam_role.deploy.arn
  type          = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "deploy" {
  cluster_name  = var.eks_cluster_name
  principal_arn = aws_iam_role.deploy.arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type       = "namespace"
    namespaces = var.deploy_namespaces
  }

  depends_on = [aws_eks_access_entry.deploy]
}

# --- Read-only audit role ------------------------------------------------------

data "aws_iam_policy_document" "audit_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.audit_trusted_principal_arns
    }

    dynamic "condition" {
      for_each = var.audit_external_id == null ? [] : [var.audit_external_id]

      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "audit" {
  name                 = "${var.name}-audit"
  description          = "Read-only role assumed by ohmc-infra verify, audit and dr-drill"
  assume_role_policy   = data.aws_iam_policy_document.audit_assume.json
  max_session_duration = 3600

  tags = var.tags
}

# Least-privilege read-only policy for the verification checks.
resource "aws_iam_policy" "audit" {
  name        = "${var.name}-audit-readonly"
  description = "Least-privilege read-only access for ohmc-infra verify, audit and dr-drill"
  # The authoritative policy lives with the checks that need it: the verify
  # tests assert it grants every API call the checks make.
  policy = file("${path.module}/../../../deploy/iam/audit-readonly-policy.json")

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "audit" {
  role       = aws_iam_role.audit.name
  policy_arn = aws_iam_policy.audit.arn
}

# --- IRSA roles ----------------------------------------------------------------

data "aws_iam_policy_document" "irsa_assume" {
  for_each = var.irsa_roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = var.irsa_roles

  name                 = "${var.name}-${each.key}"
  description          = "IRSA role of ${each.value.namespace}/${each.value.service_account}"
  assume_role_policy   = data.aws_iam_policy_document.irsa_assume[each.key].json
  max_session_duration = 3600

  tags = var.tags
}

# --- Organisation audit role ----------------------------------------------------

# The sharded organisation audit (deploy/audit/kubernetes/org-audit-job.yaml)
# runs in a cluster of one environment and assumes this role, by name, in every
# account it audits, this one included. Principals are the trusted accounts,
# narrowed to the named auditing roles by aws:PrincipalArn: naming a role of
# another account as principal would fail until that account's first apply.
data "aws_iam_policy_document" "org_audit_assume" {
  count = var.org_audit_role_name == null ? 0 : 1

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [for id in var.org_audit_trusted_account_ids : format("arn:%s:iam::%s:root", local.partition, id)]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.org_audit_trusted_role_arns
    }
  }
}

resource "aws_iam_role" "org_audit" {
  count = var.org_audit_role_name == null ? 0 : 1

  name                 = var.org_audit_role_name
  description          = "Read-only role the organisation audit assumes in every account"
  assume_role_policy   = data.aws_iam_policy_document.org_audit_assume[0].json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "org_audit" {
  count = var.org_audit_role_name == null ? 0 : 1

  role       = aws_iam_role.org_audit[0].name
  policy_arn = aws_iam_policy.audit.arn
}

# Roles without secrets, statements or audit rights get no policy: the
# workload needs the identity (the service account annotation) but no AWS
# permissions yet.
data "aws_iam_policy_document" "irsa" {
  for_each = { for key, role in var.irsa_roles : key => role if length(role.secret_arns) > 0 || length(role.policy_statements) > 0 || role.audit }

  dynamic "statement" {
    for_each = length(each.value.secret_arns) > 0 ? [each.value.secret_arns] : []

    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = each.value.policy_statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  # `ohmc-infra audit` assumes the environment's read-only audit role
  # (environment.hcl aws.role_arn), which trusts this account.
  dynamic "statement" {
    for_each = each.value.audit ? [aws_iam_role.audit.arn] : []

    content {
      sid       = "AssumeAuditRole"
      actions   = ["sts:AssumeRole"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.kms_key_arns) > 0 ? [each.value.kms_key_arns] : []

    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = statement.value

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "irsa" {
  for_each = data.aws_iam_policy_document.irsa

  name   = "read-secrets"
  role   = aws_iam_role.irsa[each.key].id
  policy = each.value.json
}

# The in-cluster audit reads with the same least-privilege policy as the
# audit role, so a check that runs in the cluster cannot need more.
resource "aws_iam_role_policy_attachment" "irsa_audit" {
  for_each = { for key, role in var.irsa_roles : key => role if role.audit }

  role       = aws_iam_role.irsa[each.key].name
  policy_arn = aws_iam_policy.audit.arn
}

# --- GitHub Actions roles other than deploy --------------------------------------

# One role per pipeline (plan, apply, audit, drill), each trusting only the
# GitHub environments its jobs run in: a job's OIDC `sub` is
# repo:<owner>/<name>:environment:<environment> when it names an environment.
data "aws_iam_policy_document" "github_assume" {
  for_each = var.github_roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = flatten([for repo in var.github_repositories : [for subject in each.value.subjects : "repo:${repo}:${subject}"]])
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = var.github_roles

  name                 = "${var.name}-github-${each.key}"
  description          = "GitHub Actions ${each.key} (${join(", ", each.value.subjects)})"
  assume_role_policy   = data.aws_iam_policy_document.github_assume[each.key].json
  max_session_duration = 7200

  tags = var.tags
}

locals {
  github_policy_attachments = {
    for pair in flatten([
      for key, role in var.github_roles : [
        for arn in role.managed_policy_arns : { id = "${key} ${arn}", role = key, arn = arn }
      ]
    ]) : pair.id => pair
  }
}

resource "aws_iam_role_policy_attachment" "github" {
  for_each = local.github_policy_attachments

  role       = aws_iam_role.github[each.value.role].name
  policy_arn = each.value.arn
}

data "aws_iam_policy_document" "github" {
  for_each = { for key, role in var.github_roles : key => role if length(role.policy_statements) > 0 || role.assume_audit_role }

  dynamic "statement" {
    for_each = each.value.policy_statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  dynamic "statement" {
    for_each = each.value.assume_audit_role ? [aws_iam_role.audit.arn] : []

    content {
      sid       = "AssumeAuditRole"
      actions   = ["sts:AssumeRole"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "github" {
  for_each = data.aws_iam_policy_document.github

  name   = "pipeline"
  role   = aws_iam_role.github[each.key].id
  policy = each.value.json
}

# --- AWS Load Balancer Controller (TargetGroupBinding only) --------------------

data "aws_iam_policy_document" "lb_controller_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lb_controller" {
  count = length(var.lb_controller_target_group_arns) > 0 ? 1 : 0

  name                 = "${var.name}-aws-load-balancer-controller"
  description          = "AWS Load Balancer Controller, limited to registering pods in the Terraform-managed target groups"
  assume_role_policy   = data.aws_iam_policy_document.lb_controller_assume.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "lb_controller" {
  statement {
    sid = "Discover"
    actions = [
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeTags",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "RegisterPods"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = var.lb_controller_target_group_arns
  }

  # TargetGroupBinding `networking` rules: ALB -> pods on the node group only.
  dynamic "statement" {
    for_each = length(var.lb_controller_security_group_ids) > 0 ? [var.lb_controller_security_group_ids] : []

    content {
      sid       = "ManageNodeIngress"
      actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
      resources = [for id in statement.value : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${id}"]
    }
  }
}

resource "aws_iam_role_policy" "lb_controller" {
  count = length(var.lb_controller_target_group_arns) > 0 ? 1 : 0

  name   = "target-group-binding"
  role   = aws_iam_role.lb_controller[0].id
  policy = data.aws_iam_policy_document.lb_controller.json
}
