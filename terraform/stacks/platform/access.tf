# The operators' path to the Kubernetes API, which is private-only in
# production: an admin role with a cluster-admin access entry, and an SSM
# bastion to port-forward to the private endpoint through Session Manager
# (runbooks/PRODUCTION_RUNBOOK.md, Access). No VPN, SSH or public address.

data "aws_partition" "current" {}

module "bastion" {
  source = "../../modules/ssm-bastion"

  name                = local.name
  vpc_id              = data.terraform_remote_state.network.outputs.vpc_id
  subnet_id           = data.terraform_remote_state.network.outputs.private_subnet_ids[0]
  api_security_groups = { eks-cluster = module.eks.cluster_security_group_id }
  tags                = local.tags
}

data "aws_iam_policy_document" "eks_admin_assume" {
  count = length(var.eks_admin_trusted_principal_arns) > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.eks_admin_trusted_principal_arns
    }
  }
}

resource "aws_iam_role" "eks_admin" {
  count = length(var.eks_admin_trusted_principal_arns) > 0 ? 1 : 0

  name                 = "${local.name}-eks-admin"
  description          = "Cluster-admin on ${local.name} (EKS access entry), reached through the SSM bastion"
  assume_role_policy   = data.aws_iam_policy_document.eks_admin_assume[0].json
  max_session_duration = 3600

  tags = local.tags
}

data "aws_iam_policy_document" "eks_admin" {
  statement {
    sid       = "Kubeconfig"
    actions   = ["eks:DescribeCluster"]
    resources = [module.eks.cluster_arn]
  }

  statement {
    sid     = "PortForwardThroughTheBastion"
    actions = ["ssm:StartSession"]
    resources = [
      module.bastion.instance_arn,
      "arn:${data.aws_partition.current.partition}:ssm:${var.region}::document/AWS-StartPortForwardingSessionToRemoteHost",
    ]
  }

  statement {
    sid       = "OwnSessionsOnly"
    actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
    resources = ["arn:${data.aws_partition.current.partition}:ssm:${var.region}:${var.account_id}:session/$${aws:userid}-*"]
  }
}

resource "aws_iam_role_policy" "eks_admin" {
  count = length(aws_iam_role.eks_admin)

  name   = "reach-the-cluster"
  role   = aws_iam_role.eks_admin[0].id
  policy = data.aws_iam_policy_document.eks_admin.json
}
