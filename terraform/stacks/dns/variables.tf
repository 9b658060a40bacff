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

variable "zone_name" {
  description = "Public hosted zone of the environment's names (the edge stack's records go into it)."
  type        = string
}

variable "dns_parent_zone" {
  description = "The zone delegating zone_name and the role to write the NS record there with (created by that zone's dns stack as <name>-dns-delegation); null when the registrar delegates zone_name."
  type = object({
    name                = string
    delegation_role_arn = string
  })
  default = null
}

variable "dns_delegated_subdomains" {
  description = "Subdomains of zone_name hosted in other accounts: name -> account id (may write their NS records here)."
  type        = map(string)
  default     = {}
}
