//! The AWS clients a drill uses, and conversions from SDK types.

use aws_config::{Region, SdkConfig};
use chrono::{DateTime, Utc};

/// One client per service and region, built once from the CLI's SDK config
/// (profile, region, endpoint and assumed role are the CLI's business).
#[derive(Debug, Clone)]
pub struct DrillClients {
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) rds_by_region: Vec<(String, aws_sdk_rds::Client)>,
    pub(crate) elasticache: aws_sdk_elasticache::Client,
    pub(crate) region: String,
}

impl DrillClients {
    /// Clients for `sdk_config`'s region, plus RDS in `target_region` when given.
    pub fn new(sdk_config: &SdkConfig, target_region: Option<&str>) -> Self {
        let region = sdk_config.region().map(|r| r.to_string()).unwrap_or_default();
        let rds = aws_sdk_rds::Client::new(sdk_config);
        let mut rds_by_region = vec![(region.clone(), rds.clone())];
        if let Some(t) = target_region.filter(|t| *t != region) {
            let conf = aws_sdk_rds::config::Builder::from(sdk_config).region(Region::new(t.to_owned())).build();
            rds_by_region.push((t.to_owned(), aws_sdk_rds::Client::from_conf(conf)));
        }
        DrillClients { rds, rds_by_region, elasticache: aws_sdk_elasticache::Client::new(sdk_config), region }
    }

    /// Build from ready clients (tests with `aws-smithy-mocks`).
    pub fn from_clients(region: &str, rds: aws_sdk_rds::Client, elasticache: aws_sdk_elasticache::Client) -> Self {
        DrillClients { rds: rds.clone(), rds_by_region: vec![(region.to_owned(), rds)], elasticache, region: region.to_owned() }
    }

    /// The RDS client for `region` (the source region's when unknown).
    pub(crate) fn rds_in(&self, region: &str) -> &aws_sdk_rds::Client {
        self.rds_by_region.iter().find(|(r, _)| r == region).map(|(_, c)| c).unwrap_or(&self.rds)
    }

    /// The ElastiCache client; drills restore Redis in the source region only.
    pub(crate) fn elasticache_in(&self, region: &str) -> Option<&aws_sdk_elasticache::Client> {
        (region == self.region).then_some(&self.elasticache)
    }
}

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
