output "alb_arn" {
  description = "The ALB (DNS, ACM and WAF checks)."
  value       = module.edge.alb_arn
}

output "alb_dns_name" {
  description = "The ALB's DNS name (DNS checks)."
  value       = module.edge.alb_dns_name
}

output "https_listener_arn" {
  description = "The HTTPS listener (ACM checks)."
  value       = module.edge.https_listener_arn
}

output "certificate_arn" {
  description = "The ACM certificate (ACM checks)."
  value       = module.edge.certificate_arn
}

output "web_acl_arn" {
  description = "The WAFv2 web ACL (WAF checks)."
  value       = module.edge.web_acl_arn
}

output "backend_target_group_arn" {
  description = "Target group for the backend's TargetGroupBinding."
  value       = module.edge.backend_target_group_arn
}

output "domain_names" {
  description = "Names aliased to the ALB."
  value       = module.edge.domain_names
}

output "alb_security_group_id" {
  description = "Security group of the ALB (TargetGroupBinding networking in deploy/k8s)."
  value       = module.edge.alb_security_group_id
}

output "grafana_target_group_arn" {
  description = "Target group of Grafana's internal ALB, for its TargetGroupBinding (deploy/monitoring/manifests)."
  value       = aws_lb_target_group.grafana.arn
}

output "grafana_alb_security_group_id" {
  description = "Security group of Grafana's internal ALB (TargetGroupBinding networking)."
  value       = aws_security_group.grafana_alb.id
}

output "grafana_url" {
  description = "Grafana, behind the internal ALB and its Cognito sign-in (root_url in deploy/monitoring/env)."
  value       = "https://${local.grafana_hostname}"
}
