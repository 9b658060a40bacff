# The EBS CSI driver, as an EKS add-on with its own IRSA role: the `gp3`
# StorageClass (deploy/monitoring/manifests/storageclass-gp3.yaml) that
# Prometheus, Alertmanager, Loki and the Pushgateway request provisions through
# it. Without it their PersistentVolumeClaims stay Pending for ever.

data "aws_iam_policy_document" "ebs_csi_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    # The add-on's controller runs as this service account; the node
    # DaemonSet needs no AWS API.
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_issuer}:sub"
      values   = ["system:serviceaccount:kube-system:ebs-csi-controller-sa"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ebs_csi" {
  name                 = "${local.name}-ebs-csi-driver"
  description          = "IRSA role of the EBS CSI driver add-on (kube-system/ebs-csi-controller-sa)"
  assume_role_policy   = data.aws_iam_policy_document.ebs_csi_assume.json
  max_session_duration = 3600

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_eks_addon" "ebs_csi" {
  cluster_name             = module.eks.cluster_name
  addon_name               = "aws-ebs-csi-driver"
  service_account_role_arn = aws_iam_role.ebs_csi.arn
  # The add-on owns its objects; a manual edit is overwritten, not kept.
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = local.tags

  depends_on = [aws_iam_role_policy_attachment.ebs_csi]
}
