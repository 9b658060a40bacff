# The Kubernetes platform: EKS (backend, collectors CronJobs, agent service)
# and the ECR repositories its images come from.

data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/network.tfstate"
    region = var.region
  }
}

module "eks" {
  source = "../../modules/eks"

  cluster_name           = local.name
  kubernetes_version     = var.kubernetes_version
  subnet_ids             = data.terraform_remote_state.network.outputs.private_subnet_ids
  endpoint_public_access = var.eks_endpoint_public_access
  public_access_cidrs    = var.eks_public_access_cidrs
  node_groups            = var.eks_node_groups
  # Keyed by what is known when planning: the given ARNs themselves, and a
  # fixed label for the role created here (its ARN exists only after apply).
  cluster_admin_roles = merge(
    { for arn in var.eks_admin_role_arns : arn => arn },
    { for role in aws_iam_role.eks_admin : "eks-admin" => role.arn },
  )
  tags = local.tags
}

module "ecr" {
  source = "../../modules/ecr"

  # One registry per account: the environment is the account, not the name.
  name               = "ohmc"
  repositories       = var.ecr_repositories
  replication_region = var.dr_replication ? var.dr_region : null
  pull_account_ids   = var.ecr_pull_account_ids
  tags               = local.tags
}
