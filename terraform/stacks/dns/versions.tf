terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.99"
    }
  }

  # bucket, region, dynamodb_table, encrypt and kms_key_id come from the
  # environment's backend.hcl; key from environment.hcl (backend_values).
  backend "s3" {}
}
