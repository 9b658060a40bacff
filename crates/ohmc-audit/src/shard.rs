//! `--shard K/N`: a deterministic share of the targets, so N pods (an Indexed Job) audit
//! an organisation between them without talking to each other. A target belongs to the
//! shard `hash(account, region) mod N`; the hash is FNV-1a, fixed here rather than
//! Rust's `DefaultHasher`, whose output may change between releases and would move
//! targets between shards (and break the merge) when pods run different builds.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as `JOB_COMPLETION_INDEX` counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The shard an account and region belong to, among `count`.
    pub fn of(account: &str, region: &str, count: u32) -> u32 {
        (fnv1a(format!("{account}/{region}").as_bytes()) % u64::from(count.max(1))) as u32
    }

    /// Whether this shard audits the account and region.
    pub fn includes(&self, account: &str, region: &str) -> bool {
        Self::of(account, region, self.count) == self.index
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected K/N, e.g. 0/4"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: K is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: N is not a number"))?;
        if count == 0 {
            return Err(format!("{s:?}: N must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: K counts from 0 (JOB_COMPLETION_INDEX) and must be below N"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("a/2".parse::<Shard>().is_err());
    }

    #[test]
    fn every_target_is_in_exactly_one_shard() {
        for n in 1..6u32 {
            for a in 0..40 {
                let account = format!("{:012}", 100_000_000_000u64 + a);
                for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
                    let hits = (0..n)
                        .filter(|k| {
                            Shard {
                                index: *k,
                                count: n,
                            }
                            .includes(&account, region)
                        })
                        .count();
                    assert_eq!(hits, 1, "{account} {region} in {n} shards");
                }
            }
        }
    }

    #[test]
    fn the_hash_is_fixed() {
        // Pinned values: a change here moves targets between shards of running Jobs.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Shard::of("123456789012", "us-east-1", 1), 0);
    }

    #[test]
    fn shards_share_the_work() {
        let n = 4;
        let mut per = vec![0; n as usize];
        for a in 0..100u64 {
            for region in ["us-east-1", "eu-west-1"] {
                per[Shard::of(&format!("{:012}", 200_000_000_000 + a), region, n) as usize] += 1;
            }
        }
        assert!(per.iter().all(|c| *c > 25), "{per:?}");
    }
}
