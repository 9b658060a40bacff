//! Errors of the library itself. A failed AWS call during a check is not an error of
//! this kind: it becomes a finding with [`crate::Outcome::Error`].

/// Errors building the AWS context.
#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    /// No region in the options, the profile or the environment.
    #[error(
        "no AWS region configured (profile {profile:?}): pass a region or set one in the profile"
    )]
    NoRegion { profile: Option<String> },
    /// The endpoint URL is not a URL.
    #[error("invalid endpoint URL {url:?}: {reason}")]
    InvalidEndpoint { url: String, reason: String },
    /// The role ARN is not an IAM role ARN.
    #[error("invalid role ARN {arn:?}: expected arn:aws:iam::ACCOUNT:role/NAME")]
    InvalidRoleArn { arn: String },
}
