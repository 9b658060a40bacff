# The production checklist (terraform/README.md) for the state-bootstrap stack, for
# the environment whose tfvars the run is given:
#
#   terraform test -var-file=../../../environments/<env>/terraform.tfvars
#
# The providers are mocked: Terraform needs only their schemas (the real
# providers' or the schema stand-in's, tests/aws-standin), and nothing is
# created even where the real provider is installed. Assertions can only see
# a root module's own resources, so each module's checklist runs against that
# module, fed as main.tf feeds it from this environment's tfvars (upstream
# stacks' outputs become fixed ids). tests/it/terraform_judge.rs runs this per
# environment, checks the `variables` below against main.tf's module
# arguments, and proves that each assertion can fail (its negative cases).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

mock_provider "aws" {
  alias = "dr"
}

variable "environment" {}
variable "account_id" {}
variable "state_bucket" {}
variable "lock_table" {}

run "state" {
  command = apply

  module {
    source = "../../modules/state-bootstrap"
  }

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  variables {
    state_bucket_name       = var.state_bucket
    lock_table_name         = var.lock_table
    access_logs_bucket_name = "ohmc-${var.environment}-s3-access-logs-${var.account_id}"
    tags                    = {}
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == var.state_bucket && aws_s3_bucket.state.force_destroy == false
    error_message = "state.bucket: the state bucket is the environment's and is never force-destroyed"
  }
  assert {
    condition     = aws_dynamodb_table.lock.hash_key == "LockID" && aws_dynamodb_table.lock.deletion_protection_enabled
    error_message = "state.lock_table: the lock table is keyed by LockID and deletion-protected"
  }
  assert {
    condition     = one(aws_dynamodb_table.lock.point_in_time_recovery).enabled
    error_message = "state.lock_table_pitr: the lock table has point-in-time recovery"
  }
  assert {
    condition     = one(aws_dynamodb_table.lock.server_side_encryption).enabled && one(aws_dynamodb_table.lock.server_side_encryption).kms_key_arn == module.state_key.arn
    error_message = "state.lock_table_kms: the lock table is encrypted with the state key"
  }
}
