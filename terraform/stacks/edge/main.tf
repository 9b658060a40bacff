# The public edge: ALB, certificate, DNS records and WAF in front of the
# backend. The hosted zone itself comes from the dns stack, applied before.

data "terraform_remote_state" "state_bootstrap" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/state-bootstrap.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/network.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "dns" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/dns.tfstate"
    region = var.region
  }
}

data "terraform_remote_state" "platform" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "${var.environment}/platform.tfstate"
    region = var.region
  }
}

module "edge" {
  source = "../../modules/edge"

  name                     = local.name
  vpc_id                   = data.terraform_remote_state.network.outputs.vpc_id
  vpc_cidr_block           = data.terraform_remote_state.network.outputs.vpc_cidr_block
  public_subnet_ids        = data.terraform_remote_state.network.outputs.public_subnet_ids
  target_security_group_id = data.terraform_remote_state.platform.outputs.eks_cluster_security_group_id
  target_port              = var.backend_port
  zone_id                  = data.terraform_remote_state.dns.outputs.hosted_zone_id
  domain_names             = var.domain_names
  waf_rate_limit           = var.waf_rate_limit
  deletion_protection      = var.alb_deletion_protection
  s3_access_logs_bucket    = data.terraform_remote_state.state_bootstrap.outputs.access_logs_bucket_name
  tags                     = local.tags
}
