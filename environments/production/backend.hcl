# S3 backend of every production stack; each stack's key comes from environment.hcl.
bucket         = "ohmc-production-tfstate-234567890123"
region         = "us-east-1"
dynamodb_table = "ohmc-production-tflock"
encrypt        = true
kms_key_id     = "arn:aws:kms:us-east-1:234567890123:alias/terraform-state"
