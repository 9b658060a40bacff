# EKS: control plane with every log type, KMS envelope encryption of secrets,
# private endpoint (public only where allowed, and then CIDR-restricted),
# managed node groups on IMDSv2-only launch templates, the IRSA OIDC provider,
# and the VPC CNI with network-policy enforcement turned on.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
}

# --- Encryption ----------------------------------------------------------------

# Managed node groups launch through Auto Scaling, whose service-linked role
# must be able to use the key for the encrypted root volumes. A fresh account
# has no such role until its first Auto Scaling group, and KMS refuses a key
# policy naming a principal that does not exist, so the role is created here
# and the policy refers to it (which also orders the key after it). In an
# account that already has the role: `terraform import` it (terraform/README.md).
resource "aws_iam_service_linked_role" "autoscaling" {
  aws_service_name = "autoscaling.amazonaws.com"
  description      = "Auto Scaling, for the ${var.cluster_name} managed node groups"

  tags = var.tags
}

module "eks_key" {
  source = "../kms-key"

  description = "${var.cluster_name} EKS secrets envelope encryption and logs"
  alias_name  = "alias/${var.cluster_name}-eks"
  policy_statements = [
    {
      Sid       = "AutoScalingEncryptedVolumes"
      Effect    = "Allow"
      Principal = { AWS = aws_iam_service_linked_role.autoscaling.arn }
      Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      Resource  = "*"
    },
    {
      Sid       = "AutoScalingEncryptedVolumesGrants"
      Effect    = "Allow"
      Principal = { AWS = aws_iam_service_linked_role.autoscaling.arn }
      Action    = "kms:CreateGrant"
      Resource  = "*"
      Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
    },
  ]
  allow_cloudwatch_logs = true

  tags = var.tags
}

# Created before the cluster so that retention and encryption are ours, not
# the defaults EKS would pick.
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${var.cluster_name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.eks_key.arn

  tags = var.tags
}

# --- Control plane -------------------------------------------------------------

module "cluster_role" {
  source = "../service-role"

  name             = "${var.cluster_name}-cluster"
  service          = "eks.amazonaws.com"
  assume_actions   = ["sts:AssumeRole", "sts:TagSession"]
  managed_policies = ["AmazonEKSClusterPolicy"]

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = var.kubernetes_version
  role_arn = module.cluster_role.arn

  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access ? var.public_access_cidrs : []
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = module.eks_key.arn
    }
  }

  # Access entries only (no aws-auth ConfigMap). The principal that creates
  # the cluster (the Terraform role) keeps cluster-admin so that the
  # controllers in deploy/k8s can be installed; people get it through
  # cluster_admin_roles.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  tags = var.tags

  depends_on = [
    module.cluster_role,
    aws_cloudwatch_log_group.cluster,
  ]
}

resource "aws_eks_access_entry" "admin" {
  for_each = var.cluster_admin_roles

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  type          = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "admin" {
  for_each = var.cluster_admin_roles

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }

  depends_on = [aws_eks_access_entry.admin]
}

# --- IRSA ----------------------------------------------------------------------

data "tls_certificate" "oidc" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc.certificates[0].sha1_fingerprint]

  tags = var.tags
}

# --- Nodes ---------------------------------------------------------------------

module "node_role" {
  source = "../service-role"

  name    = "${var.cluster_name}-node"
  service = "ec2.amazonaws.com"
  managed_policies = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ]

  tags = var.tags
}

# The VPC CNI gets its permissions through IRSA, not through the node role.
data "aws_iam_policy_document" "vpc_cni_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")}:sub"
      values   = ["system:serviceaccount:kube-system:aws-node"]
    }

    condition {
      test     = "StringEquals"
      variable = "${replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "vpc_cni" {
  name               = "${var.cluster_name}-vpc-cni"
  assume_role_policy = data.aws_iam_policy_document.vpc_cni_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "vpc_cni" {
  role       = aws_iam_role.vpc_cni.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKS_CNI_Policy"
}

resource "aws_launch_template" "node" {
  for_each = var.node_groups

  name_prefix            = "${var.cluster_name}-${each.key}-"
  update_default_version = true

  # IMDSv2 only, and a hop limit of 1 so pods cannot borrow the node's role:
  # workloads use IRSA.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = each.value.disk_size_gb
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = module.eks_key.arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-${each.key}" })
  }

  tags = var.tags
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  # Follows the control plane: raising kubernetes_version upgrades the
  # cluster first, then rolls the nodes (kubelet never newer than the API).
  version        = aws_eks_cluster.this.version
  node_role_arn  = module.node_role.arn
  subnet_ids     = var.subnet_ids
  instance_types = each.value.instance_types
  capacity_type  = each.value.capacity_type

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  tags = var.tags

  # Nodes join only once the VPC CNI add-on runs with its IRSA role and
  # network-policy enforcement: a node that comes up first gets the default
  # self-managed CNI on the node role, and pods scheduled on it start without
  # NetworkPolicy enforcement.
  depends_on = [
    module.node_role,
    aws_eks_addon.vpc_cni,
  ]

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }
}

# --- Add-ons -------------------------------------------------------------------

resource "aws_eks_addon" "vpc_cni" {
  cluster_name             = aws_eks_cluster.this.name
  addon_name               = "vpc-cni"
  service_account_role_arn = aws_iam_role.vpc_cni.arn
  # EKS installs a self-managed aws-node at cluster creation; the add-on takes
  # it over instead of failing on the conflict.
  resolve_conflicts_on_create = "OVERWRITE"
  # Enforces Kubernetes NetworkPolicy objects (deploy/k8s) in the data plane.
  configuration_values = jsonencode({
    enableNetworkPolicy = "true"
  })

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.vpc_cni]
}

resource "aws_eks_addon" "this" {
  for_each = toset(["coredns", "kube-proxy"])

  cluster_name = aws_eks_cluster.this.name
  addon_name   = each.value

  tags = var.tags

  depends_on = [aws_eks_node_group.this]
}
