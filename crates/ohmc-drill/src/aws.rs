//! The AWS clients a drill uses, and conversions from SDK types.

use aws_config::{Region, SdkConfig};
use chrono::{DateTime, Utc};

/// One client per service and region, built once from the CLI's SDK config
/// (profile, region, endpoint and assumed role are the CLI's business).
/// Holds the source region and, for cross-region drills, the target region.
#[derive(Debug, Clone)]
pub struct DrillClients {
    pub(crate) region: String,
    pub(crate) rds: Vec<(String, aws_sdk_rds::Client)>,
    pub(crate) elasticache: Vec<(String, aws_sdk_elasticache::Client)>,
    pub(crate) s3: Vec<(String, aws_sdk_s3::Client)>,
}

impl DrillClients {
    /// Clients for `sdk_config`'s region, plus `target_region` when given.
    pub fn new(sdk_config: &SdkConfig, target_region: Option<&str>) -> Self {
        let region = sdk_config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let mut regions = vec![region.clone()];
        if let Some(t) = target_region.filter(|t| *t != region) {
            regions.push(t.to_owned());
        }
        // An endpoint override (an emulator, a VPC endpoint) needs path-style S3 addressing.
        let path_style = sdk_config.endpoint_url().is_some();
        let mut clients = DrillClients {
            region,
            rds: Vec::new(),
            elasticache: Vec::new(),
            s3: Vec::new(),
        };
        for r in regions {
            let reg = Region::new(r.clone());
            clients.rds.push((
                r.clone(),
                aws_sdk_rds::Client::from_conf(
                    aws_sdk_rds::config::Builder::from(sdk_config)
                        .region(reg.clone())
                        .build(),
                ),
            ));
            clients.elasticache.push((
                r.clone(),
                aws_sdk_elasticache::Client::from_conf(
                    aws_sdk_elasticache::config::Builder::from(sdk_config)
                        .region(reg.clone())
                        .build(),
                ),
            ));
            clients.s3.push((
                r.clone(),
                aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(sdk_config)
                        .region(reg)
                        .force_path_style(path_style)
                        .build(),
                ),
            ));
        }
        clients
    }

    /// Build from ready clients for the source region (tests with `aws-smithy-mocks`).
    pub fn from_clients(
        region: &str,
        rds: aws_sdk_rds::Client,
        elasticache: aws_sdk_elasticache::Client,
        s3: aws_sdk_s3::Client,
    ) -> Self {
        DrillClients {
            region: region.to_owned(),
            rds: vec![(region.to_owned(), rds)],
            elasticache: vec![(region.to_owned(), elasticache)],
            s3: vec![(region.to_owned(), s3)],
        }
    }

    /// Add (or replace) the clients of another region (tests with `aws-smithy-mocks`).
    pub fn with_region(
        mut self,
        region: &str,
        rds: aws_sdk_rds::Client,
        elasticache: aws_sdk_elasticache::Client,
        s3: aws_sdk_s3::Client,
    ) -> Self {
        RegionList::put(&mut self.rds, region, rds);
        RegionList::put(&mut self.elasticache, region, elasticache);
        RegionList::put(&mut self.s3, region, s3);
        self
    }

    /// The source region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The RDS client for `region` (the source region's when unknown).
    pub(crate) fn rds_in(&self, region: &str) -> &aws_sdk_rds::Client {
        pick(&self.rds, region)
    }

    pub(crate) fn elasticache_in(&self, region: &str) -> &aws_sdk_elasticache::Client {
        pick(&self.elasticache, region)
    }

    pub(crate) fn s3_in(&self, region: &str) -> &aws_sdk_s3::Client {
        pick(&self.s3, region)
    }
}

trait RegionList<T> {
    fn put(&mut self, region: &str, client: T);
}

impl<T> RegionList<T> for Vec<(String, T)> {
    fn put(&mut self, region: &str, client: T) {
        self.retain(|(r, _)| r != region);
        self.push((region.to_owned(), client));
    }
}

fn pick<'a, T>(list: &'a [(String, T)], region: &str) -> &'a T {
    list.iter()
        .find(|(r, _)| r == region)
        .map(|(_, c)| c)
        .unwrap_or(&list[0].1)
}

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
