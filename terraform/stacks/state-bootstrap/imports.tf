# Adoption of what `ohmc-infra bootstrap` created before this stack's first apply
# (terraform/README.md, "Bootstrapping an account"). Import blocks need
# Terraform 1.5+, and ids from variables and data sources 1.6+. Once the
# resources are in this stack's state the blocks are no-ops, so they stay.

# The key bootstrap creates (or finds) under the module's alias.
data "aws_kms_alias" "state_import" {
  name = "alias/terraform-state"
}

import {
  to = module.state.module.state_key.aws_kms_key.this
  id = data.aws_kms_alias.state_import.target_key_id
}

import {
  to = module.state.module.state_key.aws_kms_alias.this[0]
  id = "alias/terraform-state"
}

import {
  to = module.state.aws_s3_bucket.state
  id = var.state_bucket
}

import {
  to = module.state.module.state_bucket.aws_s3_bucket_versioning.this
  id = var.state_bucket
}

import {
  to = module.state.module.state_bucket.aws_s3_bucket_server_side_encryption_configuration.this
  id = var.state_bucket
}

import {
  to = module.state.module.state_bucket.aws_s3_bucket_public_access_block.this
  id = var.state_bucket
}

import {
  to = module.state.module.state_bucket.aws_s3_bucket_ownership_controls.this
  id = var.state_bucket
}

import {
  to = module.state.module.state_bucket.aws_s3_bucket_policy.this
  id = var.state_bucket
}

import {
  to = module.state.aws_dynamodb_table.lock
  id = var.lock_table
}
