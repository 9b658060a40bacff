output "cloudtrail_name" {
  description = "Name of the multi-region trail."
  value       = aws_cloudtrail.this.name
}

output "cloudtrail_arn" {
  description = "ARN of the multi-region trail."
  value       = aws_cloudtrail.this.arn
}

output "cloudtrail_bucket_name" {
  description = "The audit bucket receiving CloudTrail (prefix cloudtrail/) and Config (prefix config/)."
  value       = aws_s3_bucket.audit.id
}

output "cloudtrail_log_group_name" {
  description = "CloudWatch Logs group receiving the trail."
  value       = aws_cloudwatch_log_group.cloudtrail.name
}

output "config_recorder_name" {
  description = "Name of the AWS Config configuration recorder."
  value       = aws_config_configuration_recorder.this.name
}

output "config_rule_names" {
  description = "Names of the AWS Config managed rules."
  value       = sort(keys(aws_config_config_rule.managed))
}

output "guardduty_detector_id" {
  description = "Id of the GuardDuty detector."
  value       = aws_guardduty_detector.this.id
}

output "security_findings_topic_arn" {
  description = "SNS topic receiving GuardDuty and Security Hub findings."
  value       = aws_sns_topic.security_findings.arn
}

output "security_kms_key_arn" {
  description = "KMS key of the trail, the audit bucket, Config and the topics."
  value       = module.security_key.arn
}

output "security_hub_enabled" {
  description = "Whether Security Hub and the FSBP standard are enabled."
  value       = var.enable_security_hub
}
