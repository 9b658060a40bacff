# The production checklist (terraform/README.md) for the dns stack, for the
# environment whose tfvars the run is given:
#
#   terraform test -var-file=../../../environments/<env>/terraform.tfvars
#
# The providers are mocked: Terraform needs only their schemas (the real
# providers' or the schema stand-in's, tests/aws-standin), and nothing is
# created even where the real provider is installed. The module runs fed as
# main.tf feeds it from this environment's tfvars. tests/it/terraform_judge.rs
# runs this per environment, checks the `variables` below against main.tf's
# module arguments, and proves that each assertion can fail (its negative
# cases).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_route53_zone" {
    defaults = { name_servers = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"] }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

mock_provider "aws" {
  alias = "parent_zone"
}

variable "environment" {}
variable "zone_name" {}

# staging's tfvars set the parent zone, production's the delegated subdomains.
variable "dns_parent_zone" {
  default = null
}
variable "dns_delegated_subdomains" {
  default = {}
}

run "dns" {
  command = apply

  module {
    source = "../../modules/dns"
  }

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    aws.parent    = aws.parent_zone
  }

  variables {
    name                 = "ohmc-${var.environment}"
    zone_name            = var.zone_name
    parent_zone_name     = var.dns_parent_zone == null ? null : var.dns_parent_zone.name
    delegated_subdomains = var.dns_delegated_subdomains
    tags                 = {}
  }

  assert {
    condition     = aws_route53_zone.this.name == var.zone_name && aws_route53_query_log.this.zone_id == aws_route53_zone.this.zone_id
    error_message = "dns.hosted_zone: the environment's public zone exists, with query logging"
  }

  # staging.ohmycoins.io is delegated by an NS record in production's
  # ohmycoins.io (written through production's delegation role); production's
  # zone is delegated at the registrar and lets the subdomains' accounts in.
  assert {
    condition = (var.dns_parent_zone == null
      ? length(aws_route53_record.delegation) == 0 && length(aws_iam_role.delegation) == (length(var.dns_delegated_subdomains) > 0 ? 1 : 0) && length(var.dns_delegated_subdomains) > 0
      : (one(aws_route53_record.delegation[*].type) == "NS"
        && one(aws_route53_record.delegation[*].name) == var.zone_name
        && toset(one(aws_route53_record.delegation[*].records)) == toset(aws_route53_zone.this.name_servers)
    && length(aws_route53_zone.this.name_servers) > 0))
    error_message = "dns.ns_delegation: the zone's name servers are delegated from its parent zone (staging), or the parent lets its subdomains delegate (production)"
  }
}
