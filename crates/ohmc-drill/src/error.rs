//! The errors a drill can end in before it has a report to return, and the
//! typed AWS failure that steps record inside a report.

use std::path::PathBuf;

use aws_sdk_rds::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

/// Failures that stop the library before (or instead of) producing a report.
/// Failures *during* a drill end up in the report's status, because by then
/// there is a ledger and cleanup results the caller must see.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The drill configuration is unusable (no data stores, bad duration...).
    #[error("invalid drill configuration for environment {environment}: {message}")]
    Config {
        environment: String,
        message: String,
    },
    /// A duration string such as `"24h"` did not parse.
    #[error("invalid duration {value:?} for {field}: {message}")]
    Duration {
        field: String,
        value: String,
        message: String,
    },
    /// Reading or writing a ledger file failed.
    #[error("ledger {}: {source}", path.display())]
    Ledger {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A ledger file exists but is not one this version understands.
    #[error("ledger {} is not a valid drill ledger: {message}", path.display())]
    LedgerFormat { path: PathBuf, message: String },
    /// `cleanup(drill_id)` was asked for a drill that has no ledger.
    #[error("no ledger for drill {drill_id} under {}", state_dir.display())]
    UnknownDrill {
        drill_id: String,
        state_dir: PathBuf,
    },
    /// A drill id that does not look like one (it is used in a file name).
    #[error("invalid drill id {0:?}")]
    InvalidDrillId(String),
    /// An AWS call failed where no report can carry it (dry run, planning).
    #[error(transparent)]
    Aws(#[from] AwsFailure),
    /// A source data store or its recovery points could not be used.
    #[error("{0}")]
    Source(String),
}

/// One failed AWS call: which operation, on which resource, the service's
/// error code when there is one, and the full error chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{service}:{operation} on {resource} failed: {message}")]
pub struct AwsFailure {
    pub service: String,
    pub operation: String,
    pub resource: String,
    pub code: Option<String>,
    pub message: String,
}

impl AwsFailure {
    pub(crate) fn from_sdk<E, R>(
        service: &str,
        operation: &str,
        resource: &str,
        err: &SdkError<E, R>,
    ) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
        R: std::fmt::Debug + 'static,
    {
        AwsFailure {
            service: service.to_owned(),
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            code: err.code().map(str::to_owned),
            message: error_chain(err),
        }
    }

    /// True when the service said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "DBInstanceNotFound"
                    | "DBInstanceNotFoundFault"
                    | "DBSnapshotNotFound"
                    | "DBSnapshotNotFoundFault"
                    | "ReplicationGroupNotFoundFault"
                    | "ReplicationGroupNotFound"
                    | "CacheClusterNotFound"
                    | "CacheClusterNotFoundFault"
                    | "SnapshotNotFoundFault"
            )
        )
    }
}

/// A describe call's output, `None` when the service said the resource does
/// not exist, or the failure. Not found is the error code
/// ([`AwsFailure::is_not_found`]) or the operation's typed not-found error
/// (`typed_not_found`), which an error built without a code still has.
pub(crate) fn found<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    failure: impl FnOnce(&SdkError<E, R>) -> AwsFailure,
    typed_not_found: impl FnOnce(&E) -> bool,
) -> Result<Option<O>, AwsFailure> {
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            let f = failure(&e);
            if f.is_not_found() || e.as_service_error().is_some_and(typed_not_found) {
                Ok(None)
            } else {
                Err(f)
            }
        }
    }
}

/// An error and its causes on one line, each cause once. The SDK's
/// `DisplayErrorContext` appends the error's `Debug` form (internal structs), which is
/// no message for a person.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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
