# Identities last: they reference the cluster, the repositories, the data
# stores' secrets and the edge's target group.

data "terraform_remote_state" "platform" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/platform.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "data" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/data.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "edge" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/edge.tfstate"
    region = var.region
  }
}

locals {
  platform = data.terraform_remote_state.platform.outputs
  data     = data.terraform_remote_state.data.outputs
}

module "iam" {
  source = "../../modules/iam"

  name                         = local.name
  create_github_oidc_provider  = var.create_github_oidc_provider
  github_repositories          = var.github_repositories
  github_environment           = var.environment
  ecr_repository_arns          = values(local.platform.ecr_repository_arns)
  eks_cluster_name             = local.platform.eks_cluster_name
  deploy_namespaces            = var.deploy_namespaces
  audit_trusted_principal_arns = var.audit_trusted_principal_arns
  audit_external_id            = var.audit_external_id
  oidc_provider_arn            = local.platform.eks_oidc_provider_arn
  oidc_issuer                  = local.platform.eks_oidc_issuer

  # Names and namespaces match the service accounts in deploy/k8s.
  irsa_roles = {
    backend = {
      namespace       = "ohmc"
      service_account = "backend"
      secret_arns     = []
      kms_key_arns    = []
    }
    agents = {
      namespace       = "ohmc"
      service_account = "agents"
      secret_arns     = []
      kms_key_arns    = []
    }
    collectors = {
      namespace       = "ohmc-collectors"
      service_account = "collectors"
      secret_arns     = []
      kms_key_arns    = []
    }
    # The External Secrets Operator reads the application secrets
    # (ohmc/<environment>/<component>) for the ClusterSecretStore in
    # deploy/k8s/base/cluster-secret-store.yaml, and nothing else.
    external-secrets = {
      namespace       = "external-secrets"
      service_account = "external-secrets"
      secret_arns     = values(local.data.app_secret_arns)
      kms_key_arns    = [local.data.app_secrets_kms_key_arn]
    }
  }

  lb_controller_target_group_arns  = [data.terraform_remote_state.edge.outputs.backend_target_group_arn]
  lb_controller_security_group_ids = [local.platform.eks_cluster_security_group_id]
  tags                             = local.tags
}
