output "arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Name of the role (also its id)."
  value       = aws_iam_role.this.name
}
