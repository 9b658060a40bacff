variable "name" {
  description = "Name prefix for every resource, e.g. ohmc-staging."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's IPv4 CIDR block; split into /20 subnets per tier and AZ."
  type        = string
}

variable "availability_zones" {
  description = "Exactly three availability zones to spread the subnets across."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "The platform runs across exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper, staging) instead of one per AZ (production)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "eks_cluster_name" {
  description = "EKS cluster name, used for the subnet discovery tags of the load balancer controller."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
