output "id" {
  description = "Id of the security group."
  value       = aws_security_group.this.id
}
