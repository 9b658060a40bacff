output "policy_json" {
  description = "The bucket policy applied: the caller's statements and the TLS-only deny."
  value       = data.aws_iam_policy_document.this.json
}
