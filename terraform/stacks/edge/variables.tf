variable "environment" {
  description = "Environment name (staging, production); prefixes every name and the state keys."
  type        = string
}

variable "account_id" {
  description = "The AWS account this environment lives in; the provider refuses any other."
  type        = string
}

variable "region" {
  description = "Primary AWS region."
  type        = string
}

variable "extra_tags" {
  description = "Additional tags on every resource."
  type        = map(string)
  default     = {}
}

variable "state_bucket" {
  description = "State bucket of this environment (same as backend.hcl), read by terraform_remote_state."
  type        = string
}

variable "domain_names" {
  description = "Names served by the ALB (environment.hcl verify.domain_names must match)."
  type        = list(string)
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes per IP before WAF blocks. Production is stricter."
  type        = number
}

variable "alb_deletion_protection" {
  description = "Deletion protection of the ALB."
  type        = bool
  default     = true
}

variable "backend_port" {
  description = "Port of the FastAPI backend pods."
  type        = number
  default     = 8000
}
