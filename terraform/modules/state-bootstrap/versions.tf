terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.99, < 6.0"
      # aws.dr: the disaster-recovery region holding the state replica.
      configuration_aliases = [aws.dr]
    }
  }
}
