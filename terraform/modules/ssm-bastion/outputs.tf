output "instance_id" {
  description = "The bastion instance: the --target of aws ssm start-session."
  value       = aws_instance.this.id
}

output "instance_arn" {
  description = "ARN of the bastion instance (for ssm:StartSession permissions)."
  value       = aws_instance.this.arn
}

output "security_group_id" {
  description = "The bastion's security group."
  value       = aws_security_group.this.id
}
