output "zone_id" {
  description = "The hosted zone's id."
  value       = aws_route53_zone.this.zone_id
}

output "zone_name" {
  description = "The hosted zone's name."
  value       = aws_route53_zone.this.name
}

output "name_servers" {
  description = "The zone's name servers: set them at the registrar for a top-level zone; a subdomain's are written into its parent zone by this module."
  value       = aws_route53_zone.this.name_servers
}

output "delegation_role_arn" {
  description = "Role the subdomains' accounts assume to write their NS records here, or null when nothing is delegated."
  value       = length(aws_iam_role.delegation) > 0 ? aws_iam_role.delegation[0].arn : null
}
