module "network" {
  source = "../../modules/network"

  name                    = local.name
  cidr_block              = var.vpc_cidr
  availability_zones      = var.availability_zones
  single_nat_gateway      = var.single_nat_gateway
  flow_log_retention_days = var.flow_log_retention_days
  # The cluster's name is fixed by convention so that the subnets can carry
  # its discovery tags before the platform stack exists.
  eks_cluster_name = local.name
  tags             = local.tags
}
