terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.99, < 6.0"
      # aws.us_east_1: Route53 writes query logs to CloudWatch Logs in
      # us-east-1 only. aws.parent: the account holding the parent zone, where
      # a subdomain's NS delegation record is written.
      configuration_aliases = [aws.us_east_1, aws.parent]
    }
  }
}
