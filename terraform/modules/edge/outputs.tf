output "alb_arn" {
  description = "ARN of the internet-facing ALB."
  value       = aws_lb.this.arn
}

output "alb_dns_name" {
  description = "DNS name of the ALB (target of the alias records)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Canonical hosted zone of the ALB."
  value       = aws_lb.this.zone_id
}

output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "http_listener_arn" {
  description = "ARN of the HTTP listener (redirects to HTTPS)."
  value       = aws_lb_listener.http_redirect.arn
}

output "backend_target_group_arn" {
  description = "IP target group the AWS Load Balancer Controller binds the backend service to (TargetGroupBinding)."
  value       = aws_lb_target_group.backend.arn
}

output "certificate_arn" {
  description = "ARN of the validated ACM certificate on the HTTPS listener."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "domain_names" {
  description = "Names with alias records to the ALB."
  value       = var.domain_names
}

output "web_acl_arn" {
  description = "ARN of the WAFv2 web ACL associated with the ALB."
  value       = aws_wafv2_web_acl.this.arn
}

output "waf_log_group_name" {
  description = "CloudWatch Logs group receiving the WAF logs."
  value       = aws_cloudwatch_log_group.waf.name
}

output "alb_logs_bucket" {
  description = "S3 bucket receiving the ALB access logs."
  value       = aws_s3_bucket.alb_logs.id
}
