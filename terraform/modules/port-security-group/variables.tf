variable "name" {
  description = "Name of the security group (also its Name tag)."
  type        = string
}

variable "description" {
  description = "Description of the security group."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the security group."
  type        = string
}

variable "port" {
  description = "The one TCP port admitted."
  type        = number
}

variable "rule_description" {
  description = "Description of each ingress rule."
  type        = string
}

variable "source_security_group_ids" {
  description = "Security groups admitted on the port, one ingress rule each."
  type        = list(string)
}

variable "tags" {
  description = "Tags applied to the group and its rules."
  type        = map(string)
  default     = {}
}
