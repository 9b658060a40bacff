variable "prefix" {
  description = "Secret name prefix, e.g. ohmc/staging: secrets are <prefix>/<component>, the keys deploy/k8s ExternalSecrets read."
  type        = string
}

variable "components" {
  description = "Components that get a secret (each an ExternalSecret in deploy/k8s)."
  type        = list(string)
  default     = ["backend", "collectors", "agents"]
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "replicate_to_dr" {
  description = "Keep a replica of every secret in the aws.dr region (production: true)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
