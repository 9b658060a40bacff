output "config_recorder_name" {
  description = "AWS Config recorder (read by the Config checks)."
  value       = module.security_baseline.config_recorder_name
}

output "config_rule_names" {
  description = "AWS Config managed rules deployed."
  value       = module.security_baseline.config_rule_names
}

output "guardduty_detector_id" {
  description = "GuardDuty detector (read by the GuardDuty checks)."
  value       = module.security_baseline.guardduty_detector_id
}

output "cloudtrail_name" {
  description = "Multi-region trail (read by the CloudTrail checks)."
  value       = module.security_baseline.cloudtrail_name
}

output "cloudtrail_bucket_name" {
  description = "Audit bucket of the trail (read by the CloudTrail checks)."
  value       = module.security_baseline.cloudtrail_bucket_name
}

output "security_findings_topic_arn" {
  description = "SNS topic receiving GuardDuty and Security Hub findings."
  value       = module.security_baseline.security_findings_topic_arn
}
