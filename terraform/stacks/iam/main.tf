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

  org_audit_role_name           = var.org_audit_role_name
  org_audit_trusted_account_ids = var.org_audit_trusted_account_ids
  org_audit_trusted_role_arns   = var.org_audit_trusted_role_arns
  oidc_provider_arn             = local.platform.eks_oidc_provider_arn
  oidc_issuer                   = local.platform.eks_oidc_issuer

  # Names and namespaces match the service accounts in deploy/k8s.
  irsa_roles = {
    backend = {
      namespace         = "ohmc"
      service_account   = "backend"
      secret_arns       = []
      kms_key_arns      = []
      policy_statements = []
      audit             = false
    }
    agents = {
      namespace         = "ohmc"
      service_account   = "agents"
      secret_arns       = []
      kms_key_arns      = []
      policy_statements = []
      audit             = false
    }
    collectors = {
      namespace         = "ohmc-collectors"
      service_account   = "collectors"
      secret_arns       = []
      kms_key_arns      = []
      policy_statements = []
      audit             = false
    }
    # The External Secrets Operator reads the application secrets
    # (ohmc/<environment>/<component>) for the ClusterSecretStore in
    # deploy/k8s/base/cluster-secret-store.yaml, and nothing else.
    external-secrets = {
      namespace         = "external-secrets"
      service_account   = "external-secrets"
      secret_arns       = values(local.data.app_secret_arns)
      kms_key_arns      = [local.data.app_secrets_kms_key_arn]
      policy_statements = []
      audit             = false
    }
    # Loki (deploy/monitoring, release loki) stores chunks and index in the
    # platform stack's bucket, encrypted with its key.
    loki = {
      namespace       = "monitoring"
      service_account = "loki"
      secret_arns     = []
      kms_key_arns    = []
      policy_statements = [
        {
          sid       = "LokiObjects"
          actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          resources = ["${local.platform.loki_bucket_arn}/*"]
        },
        {
          sid       = "LokiBucket"
          actions   = ["s3:ListBucket"]
          resources = [local.platform.loki_bucket_arn]
        },
        {
          sid       = "LokiKey"
          actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources = [local.platform.loki_kms_key_arn]
        },
      ]
      audit = false
    }
    # yet-another-cloudwatch-exporter: tag discovery and metric reads only.
    cloudwatch-exporter = {
      namespace       = "monitoring"
      service_account = "cloudwatch-exporter"
      secret_arns     = []
      kms_key_arns    = []
      policy_statements = [
        {
          sid       = "CloudWatchRead"
          actions   = ["tag:GetResources", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"]
          resources = ["*"]
        },
      ]
      audit = false
    }
    # The scheduled in-cluster audit (deploy/audit): the read-only audit
    # policy, and the audit role it assumes as every `ohmc-infra` run does.
    # The organisation audit (org-audit-job.yaml) also lists the
    # organisation's accounts and assumes the organisation audit role in each.
    compliance-audit = {
      namespace       = "ohmc-compliance"
      service_account = "compliance-audit"
      secret_arns     = []
      kms_key_arns    = []
      policy_statements = var.org_audit_role_name == null ? [] : [
        {
          sid       = "DiscoverAccounts"
          actions   = ["organizations:ListAccounts"]
          resources = ["*"]
        },
        {
          sid       = "AssumeOrgAuditRole"
          actions   = ["sts:AssumeRole"]
          resources = ["arn:aws:iam::*:role/${var.org_audit_role_name}"]
        },
      ]
      audit = true
    }
  }

  # The pipelines' roles; .github/aws-roles.yaml maps each to the variable
  # its workflow reads, set in the GitHub environment named in `subjects`.
  github_roles = {
    # infra-plan and the production plan job of infra-apply: read, plus the
    # state lock a plan takes.
    plan = {
      subjects            = ["environment:plan-${var.environment}"]
      managed_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
      policy_statements = [
        {
          sid       = "StateLock"
          actions   = ["s3:PutObject", "s3:DeleteObject"]
          resources = ["arn:aws:s3:::${var.state_bucket}/*.tflock"]
        },
        {
          sid       = "StateLockTable"
          actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
          resources = ["arn:aws:dynamodb:${var.region}:${var.account_id}:table/${var.lock_table}"]
        },
      ]
      assume_audit_role = false
    }
    # infra-apply: creates and changes everything the stacks declare, only
    # after the GitHub environment's reviewers released the job.
    apply = {
      subjects            = ["environment:${var.environment}"]
      managed_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]
      policy_statements   = []
      assume_audit_role   = true
    }
    # compliance-audit: only the read-only audit role.
    audit = {
      subjects            = ["environment:audit-${var.environment}"]
      managed_policy_arns = []
      policy_statements   = []
      assume_audit_role   = true
    }
    # dr-drill: restores into drill resources and deletes them again.
    drill = {
      subjects            = ["environment:dr-drill-${var.environment}"]
      managed_policy_arns = ["arn:aws:iam::aws:policy/AmazonRDSFullAccess", "arn:aws:iam::aws:policy/AmazonElastiCacheFullAccess"]
      policy_statements   = []
      assume_audit_role   = true
    }
  }
  ecr_promotion_source_arns = var.ecr_promotion_source_arns

  # The backend on the public ALB, Grafana on the internal one.
  lb_controller_target_group_arns = [
    data.terraform_remote_state.edge.outputs.backend_target_group_arn,
    data.terraform_remote_state.edge.outputs.grafana_target_group_arn,
  ]
  lb_controller_security_group_ids = [local.platform.eks_cluster_security_group_id]
  tags                             = local.tags
}
