//! AWS region names. A mistyped region (`us-east1`, `US-EAST-1`, an availability zone
//! like `us-east-1a`) would otherwise reach the SDK, which builds an endpoint from it and
//! fails far from the typo, or talks to a region nobody meant.

/// Whether `name` has the shape of an AWS region name: a two-letter area, an optional
/// partition word (`gov`, `iso`, `isob`, ...), a direction word, and a number:
/// `us-east-1`, `ap-southeast-4`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`.
pub fn is_valid(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let (first, rest) = match parts.split_first() {
        Some(p) => p,
        None => return false,
    };
    let Some((number, words)) = rest.split_last() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=2).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-4",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-isob-east-1",
            "il-central-1",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "us-east1",
            "useast-1",
            "US-EAST-1",
            "us-east-1a",
            "us--east-1",
            "us-east-1-",
            "us-gov-west-east-1",
            "us-east-123",
            "us-east-1\n",
            "../us-east-1",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }
}
