output "hosted_zone_id" {
  description = "The Route53 zone (edge records; DNS checks)."
  value       = module.dns.zone_id
}

output "hosted_zone_name" {
  description = "The Route53 zone's name."
  value       = module.dns.zone_name
}

output "hosted_zone_name_servers" {
  description = "Name servers of the zone: set at the registrar for a top-level zone."
  value       = module.dns.name_servers
}

output "dns_delegation_role_arn" {
  description = "Role subdomain accounts assume to write their NS delegation, or null."
  value       = module.dns.delegation_role_arn
}
