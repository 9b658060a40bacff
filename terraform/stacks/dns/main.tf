# The environment's public DNS: the hosted zone the edge stack's certificate
# validation and alias records go into, and its delegation. Applied before
# edge. production's zone (ohmycoins.io) is delegated at the registrar;
# staging's (staging.ohmycoins.io) by an NS record in production's zone, so
# production's dns stack is applied before staging's (terraform/README.md).

module "dns" {
  source = "../../modules/dns"

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    aws.parent    = aws.parent_zone
  }

  name                 = local.name
  zone_name            = var.zone_name
  parent_zone_name     = var.dns_parent_zone == null ? null : var.dns_parent_zone.name
  delegated_subdomains = var.dns_delegated_subdomains
  tags                 = local.tags
}
