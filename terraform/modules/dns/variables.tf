variable "name" {
  description = "Name prefix, e.g. ohmc-production."
  type        = string
}

variable "zone_name" {
  description = "The environment's public hosted zone, e.g. staging.ohmycoins.io (the edge stack puts its records here)."
  type        = string
}

variable "parent_zone_name" {
  description = "Zone to delegate this one from (through provider aws.parent), e.g. ohmycoins.io for staging.ohmycoins.io; null for a zone delegated at the registrar."
  type        = string
  default     = null
}

variable "delegated_subdomains" {
  description = "Subdomains of zone_name hosted in other accounts: name -> account id. Those accounts may write (only) their NS records here through the role this module creates."
  type        = map(string)
  default     = {}
}

variable "query_log_retention_days" {
  description = "Retention of the Route53 query logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
