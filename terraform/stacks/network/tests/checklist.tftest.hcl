# The production checklist (terraform/README.md) for the network stack, for
# the environment whose tfvars the run is given:
#
#   terraform test -var-file=../../../environments/<env>/terraform.tfvars
#
# The providers are mocked: Terraform needs only their schemas (the real
# providers' or the schema stand-in's, tests/aws-standin), and nothing is
# created even where the real provider is installed. Assertions can only see
# a root module's own resources, so each module's checklist runs against that
# module, fed as main.tf feeds it from this environment's tfvars (upstream
# stacks' outputs become fixed ids). tests/it/terraform_judge.rs runs this per
# environment, checks the `variables` below against main.tf's module
# arguments, and proves that each assertion can fail (its negative cases).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variable "environment" {}
variable "vpc_cidr" {}
variable "availability_zones" {}
variable "single_nat_gateway" {}
variable "flow_log_retention_days" {}

run "network" {
  command = apply

  module {
    source = "../../modules/network"
  }

  variables {
    name                    = "ohmc-${var.environment}"
    cidr_block              = var.vpc_cidr
    availability_zones      = var.availability_zones
    single_nat_gateway      = var.single_nat_gateway
    flow_log_retention_days = var.flow_log_retention_days
    eks_cluster_name        = "ohmc-${var.environment}"
    tags                    = {}
  }

  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_subnet.private) == 3 && length(aws_subnet.database) == 3
    error_message = "network.three_azs: public, private and database subnets in 3 AZs"
  }
  assert {
    condition     = length(aws_nat_gateway.this) == (var.environment == "production" ? 3 : 1)
    error_message = "network.nat_per_env: one NAT per AZ in production, one shared in staging"
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "sg.default_closed: the default security group has no rules"
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL"
    error_message = "network.flow_logs: VPC flow logs record all traffic"
  }
  assert {
    condition     = alltrue([for s in concat(aws_subnet.private, aws_subnet.database) : s.map_public_ip_on_launch != true])
    error_message = "network.private_subnets: private and database subnets give no public IPs"
  }
}
