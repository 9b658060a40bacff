# S3 backend of every staging stack; each stack's key comes from environment.hcl.
bucket         = "ohmc-staging-tfstate-123456789012"
region         = "us-east-1"
dynamodb_table = "ohmc-staging-tflock"
encrypt        = true
kms_key_id     = "arn:aws:kms:us-east-1:123456789012:alias/terraform-state"
