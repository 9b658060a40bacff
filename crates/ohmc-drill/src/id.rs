//! Drill ids and the names of the resources a drill creates.
//!
//! The name only helps a human; ownership is decided by the ledger and the
//! `ohmc:drill-id` tag, never by the name.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use chrono::{DateTime, Utc};

use crate::error::DrillError;

/// The tag every drill resource carries; its value is the drill id.
pub const DRILL_TAG_KEY: &str = "ohmc:drill-id";
/// A second tag naming the source the resource was restored from.
pub const DRILL_SOURCE_TAG_KEY: &str = "ohmc:drill-source";

/// The tags every drill resource carries, in order: the drill id and the
/// source it was restored from.
pub(crate) fn drill_tags<'a>(drill_id: &'a str, source: &'a str) -> [(&'static str, &'a str); 2] {
    [(DRILL_TAG_KEY, drill_id), (DRILL_SOURCE_TAG_KEY, source)]
}

/// Longest identifiers the services accept.
pub(crate) const RDS_ID_MAX: usize = 63;
pub(crate) const REDIS_ID_MAX: usize = 40;
pub(crate) const RDS_SNAPSHOT_ID_MAX: usize = 255;

/// `drill-<env>-<yyyymmddhhmmss>-<4 random hex>`.
pub fn new_drill_id(environment: &str, at: DateTime<Utc>) -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(at.timestamp_nanos_opt().unwrap_or_default() as u128);
    h.write_u32(std::process::id());
    format!(
        "drill-{}-{}-{:04x}",
        environment.to_ascii_lowercase(),
        at.format("%Y%m%d%H%M%S"),
        h.finish() & 0xffff
    )
}

/// A drill id is used in file names and resource names: letters, digits, '-'.
pub fn validate_drill_id(id: &str) -> Result<(), DrillError> {
    let ok = id.starts_with("drill-")
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(DrillError::InvalidDrillId(id.to_owned()))
    }
}

/// `<drill_id>-<source>`, or when that is longer than the service allows, a
/// compact form `dr<yymmddhhmmss><hex>-<source…>` cut to `max` characters.
/// Always a valid RDS/ElastiCache identifier: starts with a letter, only
/// lowercase letters, digits and single hyphens, no trailing hyphen.
pub(crate) fn resource_name(drill_id: &str, source: &str, max: usize) -> String {
    let full = sanitize(&format!("{drill_id}-{source}"));
    if full.len() <= max {
        return full;
    }
    // drill-<env>-<14 digits>-<4 hex>: keep the unique tail.
    let parts: Vec<&str> = drill_id.rsplitn(3, '-').collect();
    let compact = match parts.as_slice() {
        [hex, stamp, _] if stamp.len() == 14 => format!("dr{}{}", &stamp[2..], hex),
        _ => "dr".to_owned() + &drill_id.replace('-', ""),
    };
    let mut name = sanitize(&format!("{compact}-{source}"));
    name.truncate(max);
    while name.ends_with('-') {
        name.pop();
    }
    name
}

fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn drill_ids_have_the_documented_shape() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap();
        let id = new_drill_id("staging", at);
        assert!(regex_like(&id), "{id}");
        validate_drill_id(&id).unwrap();
        assert!(validate_drill_id("../etc/passwd").is_err());
        assert!(validate_drill_id("drill-x/y").is_err());
    }

    fn regex_like(id: &str) -> bool {
        let rest = id
            .strip_prefix("drill-staging-20261127010203-")
            .unwrap_or("");
        rest.len() == 4 && rest.chars().all(|c| c.is_ascii_hexdigit())
    }

    #[test]
    fn names_fit_the_service_limits() {
        let id = "drill-production-20261127010203-ab12";
        assert_eq!(
            resource_name(id, "ohmc-prod-pg", RDS_ID_MAX),
            "drill-production-20261127010203-ab12-ohmc-prod-pg"
        );
        let redis = resource_name(id, "ohmc-production-redis", REDIS_ID_MAX);
        assert!(redis.len() <= 40, "{redis}");
        assert_eq!(redis, "dr261127010203ab12-ohmc-production-redis");
        let long = resource_name(
            id,
            "a-very-long-replication-group-name-indeed",
            REDIS_ID_MAX,
        );
        assert!(long.len() <= 40 && !long.ends_with('-'), "{long}");
    }
}
