variable "name" {
  description = "Repository name prefix, e.g. ohmc: repositories are <name>-<repository> (ohmc-backend), as deploy/k8s references them."
  type        = string
}

variable "repositories" {
  description = "Repositories to create."
  type        = list(string)
  default     = ["backend", "frontend", "collectors", "agents"]
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images are expired."
  type        = number
  default     = 14
}

variable "max_release_images" {
  description = "Number of release images (tags v*) kept per repository."
  type        = number
  default     = 50
}

variable "max_other_images" {
  description = "Number of other tagged images (branch or commit builds) kept per repository."
  type        = number
  default     = 30
}

variable "replication_region" {
  description = "Region every image of these repositories is replicated to (the DR region); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "pull_account_ids" {
  description = "Accounts that may pull every repository's images (promotion of a tested image into another account's registry). Their own IAM policies still decide which principals may."
  type        = list(string)
  default     = []
}
