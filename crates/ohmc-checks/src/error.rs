//! Errors of the library itself. A failed AWS call during a check is not an error of
//! this kind: it becomes a finding with [`crate::Outcome::Error`].

/// Errors building the AWS context.
#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    /// No region in the options, the profile or the environment.
    #[error(
        "no AWS region configured ({}): pass a region or set one in the profile",
        match profile { Some(p) => format!("profile {p}"), None => "no profile".to_string() }
    )]
    NoRegion { profile: Option<String> },
    /// The endpoint URL is not a URL.
    #[error("invalid endpoint URL {url:?}: {reason}")]
    InvalidEndpoint { url: String, reason: String },
    /// The role ARN is not an IAM role ARN.
    #[error("invalid role ARN {arn:?}: expected arn:aws:iam::ACCOUNT:role/NAME")]
    InvalidRoleArn { arn: String },
}

/// An error and its causes on one line, each cause once: `a: b: c`. The SDK's own
/// `DisplayErrorContext` appends the error's `Debug` form, a dump of internal structs
/// that is no message for a person; a cause whose text the line already holds (a
/// wrapper that prints its source) is left out.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Option<Box<Wrap>>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|w| w as _)
        }
    }

    #[test]
    fn a_chain_is_one_line_each_cause_once_and_no_debug_form() {
        let e = Wrap(
            "dispatch failure",
            Some(Box::new(Wrap(
                "io error",
                Some(Box::new(Wrap("Connection refused", None))),
            ))),
        );
        assert_eq!(
            error_chain(&e),
            "dispatch failure: io error: Connection refused"
        );
        let e = Wrap("reading x: denied", Some(Box::new(Wrap("denied", None))));
        assert_eq!(error_chain(&e), "reading x: denied");
    }
}
