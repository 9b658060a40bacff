variable "name" {
  description = "Name of the role."
  type        = string
}

variable "service" {
  description = "Service principal that assumes the role, e.g. backup.amazonaws.com."
  type        = string
}

variable "assume_actions" {
  description = "Actions the service is allowed in the trust policy."
  type        = list(string)
  default     = ["sts:AssumeRole"]
}

variable "source_account" {
  description = "When set, the trust policy requires aws:SourceAccount to equal it."
  type        = string
  default     = null
}

variable "source_arn" {
  description = "When set, the trust policy requires aws:SourceArn to equal it."
  type        = string
  default     = null
}

variable "managed_policies" {
  description = "AWS managed policies to attach, by path and name below arn:<partition>:iam::aws:policy/ (e.g. service-role/AWS_ConfigRole)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags applied to the role."
  type        = map(string)
  default     = {}
}
