output "eks_cluster_name" {
  description = "The EKS cluster (platform manifests, kubeconfig)."
  value       = module.eks.cluster_name
}

output "eks_cluster_endpoint" {
  description = "The API server endpoint."
  value       = module.eks.cluster_endpoint
}

output "eks_cluster_security_group_id" {
  description = "Security group of the EKS nodes: the only source the data stores admit."
  value       = module.eks.cluster_security_group_id
}

output "eks_oidc_provider_arn" {
  description = "IRSA OIDC provider."
  value       = module.eks.oidc_provider_arn
}

output "eks_oidc_issuer" {
  description = "IRSA OIDC issuer without https://."
  value       = module.eks.oidc_issuer
}

output "ecr_repository_urls" {
  description = "ECR repository URLs by short name."
  value       = module.ecr.repository_urls
}

output "ecr_repository_arns" {
  description = "ECR repository ARNs by short name."
  value       = module.ecr.repository_arns
}

output "ecr_registry" {
  description = "The account's ECR registry host (ECR_REGISTRY in deploy/k8s)."
  value       = "${var.account_id}.dkr.ecr.${var.region}.amazonaws.com"
}

output "eks_admin_role_arn" {
  description = "Cluster-admin role operators assume to reach the API through the SSM bastion (runbooks/PRODUCTION_RUNBOOK.md, Access), or null."
  value       = length(aws_iam_role.eks_admin) > 0 ? aws_iam_role.eks_admin[0].arn : null
}

output "eks_bastion_instance_id" {
  description = "SSM bastion to port-forward to the private API endpoint through."
  value       = module.bastion.instance_id
}

output "loki_bucket_name" {
  description = "Loki's object store (deploy/monitoring/env/<env>.yaml lokiBucket)."
  value       = aws_s3_bucket.loki.id
}

output "loki_bucket_arn" {
  description = "ARN of Loki's bucket, granted to Loki's IRSA role."
  value       = aws_s3_bucket.loki.arn
}

output "loki_kms_key_arn" {
  description = "KMS key of Loki's bucket."
  value       = module.loki_key.arn
}

output "ebs_csi_role_arn" {
  description = "IRSA role of the EBS CSI driver add-on."
  value       = aws_iam_role.ebs_csi.arn
}
