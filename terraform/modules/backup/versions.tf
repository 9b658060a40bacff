terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.99, < 6.0"
      # aws.dr is the disaster-recovery region receiving the cross-region copies.
      configuration_aliases = [aws.dr]
    }
  }
}
