variable "name" {
  description = "Name prefix, e.g. ohmc-staging."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "vpc_cidr_block" {
  description = "VPC CIDR: the only destination the ALB may send traffic to."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the internet-facing ALB."
  type        = list(string)
}

variable "target_security_group_id" {
  description = "Security group of the EKS nodes; the ALB is admitted on target_port."
  type        = string
}

variable "target_port" {
  description = "Port the backend pods listen on (IP targets registered by the AWS Load Balancer Controller)."
  type        = number
  default     = 8000
}

variable "health_check_path" {
  description = "HTTP path of the backend's health check."
  type        = string
  default     = "/api/v1/utils/health-check/"
}

variable "zone_id" {
  description = "Public Route53 hosted zone holding the records (the dns stack's hosted_zone_id)."
  type        = string
}

variable "domain_names" {
  description = "Names served by the ALB. The first is the certificate's subject; all get alias records and are SANs."
  type        = list(string)

  validation {
    condition     = length(var.domain_names) >= 1
    error_message = "At least one domain name is required."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP before the rate-based rule blocks it."
  type        = number

  validation {
    condition     = var.waf_rate_limit >= 100
    error_message = "WAFv2 rate-based rules need a limit of at least 100."
  }
}

variable "waf_log_retention_days" {
  description = "Retention of the WAF log group."
  type        = number
  default     = 365
}

variable "alb_log_retention_days" {
  description = "Days ALB access logs are kept in S3."
  type        = number
  default     = 365
}

variable "deletion_protection" {
  description = "Refuse deletion of the ALB."
  type        = bool
  default     = true
}

variable "s3_access_logs_bucket" {
  description = "Bucket receiving the S3 server access logs of the ALB log bucket (from the security-baseline stack)."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
