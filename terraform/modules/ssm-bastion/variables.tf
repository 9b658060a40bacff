variable "name" {
  description = "Name prefix, e.g. ohmc-production."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the bastion."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet (with a NAT route to Session Manager) the bastion runs in."
  type        = string
}

variable "api_security_groups" {
  description = "Security groups of the endpoints the bastion forwards to (the EKS cluster security group), each admitting 443 from the bastion: a label known when planning => the group's id (created in the same apply, so unknown until then; for_each needs its keys at plan time)."
  type        = map(string)
}

variable "instance_type" {
  description = "Instance type (it only relays TCP)."
  type        = string
  default     = "t3.micro"
}

variable "ami_parameter" {
  description = "SSM public parameter of the AMI (Amazon Linux 2023: the SSM agent is preinstalled)."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
