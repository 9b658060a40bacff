output "vpc_id" {
  description = "The VPC."
  value       = module.network.vpc_id
}

output "vpc_cidr_block" {
  description = "The VPC's CIDR block."
  value       = module.network.vpc_cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT)."
  value       = module.network.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Private subnets (EKS)."
  value       = module.network.private_subnet_ids
}

output "database_subnet_ids" {
  description = "Database subnets (RDS, ElastiCache)."
  value       = module.network.database_subnet_ids
}

output "public_subnet_cidr_blocks" {
  description = "Public subnets' CIDR blocks: the only sources the backend NetworkPolicy admits on its port (the ALB's nodes live there)."
  value       = module.network.public_subnet_cidr_blocks
}
