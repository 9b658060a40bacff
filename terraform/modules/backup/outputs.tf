output "plan_id" {
  description = "The backup plan's id."
  value       = aws_backup_plan.this.id
}

output "plan_arn" {
  description = "The backup plan's ARN."
  value       = aws_backup_plan.this.arn
}

output "vault_name" {
  description = "The primary backup vault's name."
  value       = aws_backup_vault.this.name
}

output "vault_arn" {
  description = "The primary backup vault's ARN."
  value       = aws_backup_vault.this.arn
}

output "dr_vault_arn" {
  description = "ARN of the cross-region copy vault, or null when copies are off."
  value       = var.enable_cross_region_copy ? aws_backup_vault.dr[0].arn : null
}

output "vault_locked" {
  description = "Whether Vault Lock is configured on the vault."
  value       = var.enable_vault_lock
}

output "selection_tag" {
  description = "The tag (key = value) that puts a resource under the plan."
  value       = { (var.selection_tag_key) = var.selection_tag_value }
}
