//! Mapping SDK operation names to IAM actions, for the API-call recorder and the
//! least-privilege policy. Most services use the operation name as the action; S3 has
//! a few historical exceptions.

/// The IAM action (`prefix:Action`) an SDK operation of a service needs.
pub fn iam_action(prefix: &str, operation: &str) -> String {
    let action = match (prefix, operation) {
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "HeadBucket") => "ListBucket",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        _ => operation,
    };
    format!("{prefix}:{action}")
}

/// True for an action name that only reads (`Describe*`, `Get*`, `List*`, `BatchGet*`).
pub fn is_read_action(action: &str) -> bool {
    let name = action.split_once(':').map(|(_, a)| a).unwrap_or(action);
    ["Describe", "Get", "List", "BatchGet"]
        .iter()
        .any(|p| name.starts_with(p))
}
