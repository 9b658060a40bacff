// ---- Redis across regions -----------------------------------------------------------
//
// ElastiCache cannot copy a snapshot to another region: the drill exports it to
// S3 (CopySnapshot with TargetBucket), copies the .rdb objects to a bucket in
// the target region and seeds the new group from them. moto implements neither
// CopySnapshot nor describable member clusters, so here ElastiCache is
// aws-smithy-mocks (responses shaped like the ElastiCache API reference; the
// CopySnapshot mock writes the .rdb object into moto's S3, as ElastiCache
// would) while S3 is the real moto server.

use super::*;
use aws_sdk_elasticache::operation::copy_snapshot::CopySnapshotOutput;
use aws_sdk_elasticache::operation::create_replication_group::CreateReplicationGroupOutput;
use aws_sdk_elasticache::operation::delete_replication_group::DeleteReplicationGroupOutput;
use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
use aws_sdk_elasticache::operation::describe_replication_groups::{
    DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
};
use aws_sdk_elasticache::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_elasticache::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_elasticache::primitives::DateTime as EcTime;
use aws_sdk_elasticache::types::error::ReplicationGroupNotFoundFault;
use aws_sdk_elasticache::types::{
    CacheCluster, CacheParameterGroupStatus, Endpoint, NodeGroup, NodeSnapshot, ReplicationGroup,
    Snapshot,
};
use aws_sdk_elasticache::Client as Ec;
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use std::sync::atomic::{AtomicBool, Ordering};

const WEST: &str = "us-west-2";

/// What CreateReplicationGroup was asked: id, SnapshotArns, SnapshotName, tags.
type Created = (String, Vec<String>, Option<String>, Vec<(String, String)>);
const EXPORT: &str = "ohmc-staging-redis-export";
const IMPORT: &str = "ohmc-staging-redis-import-west";

fn group(id: &str, region: &str) -> ReplicationGroup {
    ReplicationGroup::builder()
        .replication_group_id(id)
        .status("available")
        .member_clusters(format!("{id}-001"))
        .node_groups(
            NodeGroup::builder()
                .node_group_id("0001")
                .primary_endpoint(
                    Endpoint::builder()
                        .address(format!("master.{id}.cache.amazonaws.com"))
                        .port(6379)
                        .build(),
                )
                .build(),
        )
        .at_rest_encryption_enabled(true)
        .transit_encryption_enabled(true)
        .cluster_enabled(false)
        .cache_node_type("cache.t3.micro")
        .engine("redis")
        .arn(format!(
            "arn:aws:elasticache:{region}:123456789012:replicationgroup:{id}"
        ))
        .build()
}

fn member(id: &str) -> CacheCluster {
    CacheCluster::builder()
        .cache_cluster_id(id)
        .engine_version("7.1")
        .cache_parameter_group(
            CacheParameterGroupStatus::builder()
                .cache_parameter_group_name("default.redis7")
                .build(),
        )
        .build()
}

async fn s3(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let c = sdk(endpoint, region).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&c)
            .force_path_style(true)
            .build(),
    )
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let out = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn redis_is_exported_copied_and_seeded_in_the_target_region_then_everything_is_removed() {
    let moto = Arc::new(MotoServer::start());
    let (s3_east, s3_west) = (
        s3(&moto.endpoint(), REGION).await,
        s3(&moto.endpoint(), WEST).await,
    );
    s3_east.create_bucket().bucket(EXPORT).send().await.unwrap();
    s3_west
        .create_bucket()
        .bucket(IMPORT)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let snapshot_time = chrono::Utc::now() - chrono::Duration::hours(1);

    // Source region: the group, its member, its snapshot; the export.
    let src_group = mock!(Ec::describe_replication_groups)
        .match_requests(|r| r.replication_group_id() == Some(REDIS))
        .then_output(|| {
            DescribeReplicationGroupsOutput::builder()
                .replication_groups(group(REDIS, REGION))
                .build()
        });
    let src_member = mock!(Ec::describe_cache_clusters).then_output(|| {
        DescribeCacheClustersOutput::builder()
            .cache_clusters(member("ohmc-staging-redis-001"))
            .build()
    });
    let list_snapshots = mock!(Ec::describe_snapshots)
        .match_requests(|r| r.replication_group_id() == Some(REDIS))
        .then_output(move || {
            DescribeSnapshotsOutput::builder()
                .snapshots(
                    Snapshot::builder()
                        .snapshot_name("automatic.ohmc-staging-redis-2026-11-26-03-00")
                        .replication_group_id(REDIS)
                        .snapshot_status("available")
                        .snapshot_source("automated")
                        .engine_version("7.1")
                        .cache_parameter_group_name("default.redis7")
                        .node_snapshots(
                            NodeSnapshot::builder()
                                .snapshot_create_time(EcTime::from_secs(snapshot_time.timestamp()))
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let snapshot_status = mock!(Ec::describe_snapshots)
        .match_requests(|r| r.snapshot_name().is_some())
        .then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(Snapshot::builder().snapshot_status("available").build())
                .build()
        });
    let m = moto.clone();
    let export = mock!(Ec::copy_snapshot)
        .match_requests(|r| r.target_bucket() == Some(EXPORT))
        .then_compute_output(move |r| {
            // What ElastiCache does: write the .rdb into the bucket.
            let key = format!("{}-0001.rdb", r.target_snapshot_name().unwrap());
            let (status, body) = m.raw(
                "PUT",
                &format!("/{EXPORT}/{key}"),
                &[],
                "REDIS0011 fake rdb",
            );
            assert_eq!(status, 200, "{body}");
            CopySnapshotOutput::builder()
                .snapshot(Snapshot::builder().snapshot_status("exporting").build())
                .build()
        });
    let ec_east = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [
            &src_group,
            &src_member,
            &list_snapshots,
            &snapshot_status,
            &export
        ]
    );

    // Target region: the seeded group.
    let created: Arc<Mutex<Option<Created>>> = Arc::default();
    let deleted = Arc::new(AtomicBool::new(false));
    let c = created.clone();
    let create = mock!(Ec::create_replication_group).then_compute_output(move |r| {
        let tags = r
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect();
        let id = r.replication_group_id().unwrap().to_owned();
        *c.lock().unwrap() = Some((
            id.clone(),
            r.snapshot_arns().to_vec(),
            r.snapshot_name().map(str::to_owned),
            tags,
        ));
        CreateReplicationGroupOutput::builder()
            .replication_group(group(&id, WEST))
            .build()
    });
    let (c, d) = (created.clone(), deleted.clone());
    let describe = mock!(Ec::describe_replication_groups).then_compute_response(move |r| {
        let known = c.lock().unwrap().as_ref().map(|x| x.0.clone());
        if d.load(Ordering::SeqCst) || known.as_deref() != r.replication_group_id() {
            MockResponse::Error(
                DescribeReplicationGroupsError::ReplicationGroupNotFoundFault(
                    ReplicationGroupNotFoundFault::builder()
                        .message("not found")
                        .build(),
                ),
            )
        } else {
            MockResponse::Output(
                DescribeReplicationGroupsOutput::builder()
                    .replication_groups(group(r.replication_group_id().unwrap(), WEST))
                    .build(),
            )
        }
    });
    let dst_member = mock!(Ec::describe_cache_clusters).then_compute_output(|r| {
        DescribeCacheClustersOutput::builder()
            .cache_clusters(member(r.cache_cluster_id().unwrap()))
            .build()
    });
    let c = created.clone();
    let tags = mock!(Ec::list_tags_for_resource).then_compute_output(move |_| {
        let tags = c.lock().unwrap().as_ref().unwrap().3.clone();
        let mut out = ListTagsForResourceOutput::builder();
        for (k, v) in tags {
            out = out.tag_list(EcTag::builder().key(k).value(v).build());
        }
        out.build()
    });
    let d = deleted.clone();
    let delete = mock!(Ec::delete_replication_group).then_compute_output(move |r| {
        d.store(true, Ordering::SeqCst);
        DeleteReplicationGroupOutput::builder()
            .replication_group(group(r.replication_group_id().unwrap(), WEST))
            .build()
    });
    let ec_west = mock_client!(
        aws_sdk_elasticache,
        RuleMode::MatchAny,
        [&create, &describe, &dst_member, &tags, &delete]
    );

    let rds = |region: &'static str| {
        let endpoint = moto.endpoint();
        async move { aws_sdk_rds::Client::new(&sdk(&endpoint, region).await) }
    };
    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, Some(WEST))
        .with_region(REGION, rds(REGION).await, ec_east, s3_east.clone())
        .with_region(WEST, rds(WEST).await, ec_west, s3_west.clone());
    let state = tempfile::tempdir().unwrap();
    let mut c = DrillConfig::new("staging", REGION, state.path());
    c.redis_replication_group = Some(REDIS.to_owned());
    c.target_region = Some(WEST.to_owned());
    c.redis_export_bucket = Some(EXPORT.to_owned());
    c.redis_import_bucket = Some(IMPORT.to_owned());
    c.poll_interval = Duration::from_millis(50);
    // Default policy: every check must really pass (the mocks report what AWS reports).
    assert_eq!(c.unverifiable, Unverifiable::Fail);

    // The dry run plans the export and the copy, and makes none of those calls.
    let plan = ohmc_drill::plan_drill(&clients, &c, &ohmc_drill::no_events)
        .await
        .unwrap();
    assert_status(&plan, DrillStatus::Planned);
    let actions: Vec<_> = plan
        .plan
        .iter()
        .map(|a| (a.action.as_str(), a.region.as_str()))
        .collect();
    for want in [
        ("elasticache:CopySnapshot", REGION),
        ("s3:CopyObject", WEST),
        ("elasticache:CreateReplicationGroup", WEST),
    ] {
        assert!(actions.contains(&want), "{want:?} not planned: {actions:?}");
    }
    assert_eq!((export.num_calls(), create.num_calls()), (0, 0));
    assert!(keys(&s3_east, EXPORT).await.is_empty() && keys(&s3_west, IMPORT).await.is_empty());

    let events = Events::default();
    let sink = events.sink();
    let r = ohmc_drill::run_drill(&clients, &c, &sink, std::future::pending())
        .await
        .unwrap();
    assert_status(&r, DrillStatus::Met);
    assert_eq!((export.num_calls(), create.num_calls()), (1, 1));
    assert!(
        r.validations
            .iter()
            .all(|v| v.outcome == ValidationOutcome::Passed),
        "{:?}",
        r.validations
    );
    let rpo = r.rpo.measured_ms.unwrap();
    assert!(
        (3_600_000..3_700_000).contains(&rpo),
        "RPO from NodeSnapshots: {rpo}"
    );

    // Seeded from the copy in the target region, not from a snapshot name.
    let (id, arns, snapshot_name, tags) = created.lock().unwrap().clone().unwrap();
    assert_eq!(arns, [format!("arn:aws:s3:::{IMPORT}/{id}-0001.rdb")]);
    assert_eq!(snapshot_name, None);
    assert!(tags.contains(&("ohmc:drill-id".to_owned(), r.drill_id.clone())));
    let copied = r.recovery_points[0].copied_to.as_ref().unwrap();
    assert_eq!(copied.region, WEST);
    let kinds: Vec<_> = events.created().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            ResourceKind::RedisExport,
            ResourceKind::S3Object,
            ResourceKind::RedisReplicationGroup
        ]
    );

    // Everything removed: the group, the copied object, the export.
    let outcomes: Vec<_> = r
        .cleanup
        .iter()
        .map(|c| (c.kind, c.outcome, c.region.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                ResourceKind::RedisReplicationGroup,
                CleanupOutcome::Deleted,
                WEST
            ),
            (ResourceKind::S3Object, CleanupOutcome::Deleted, WEST),
            (ResourceKind::RedisExport, CleanupOutcome::Deleted, REGION),
        ]
    );
    assert!(keys(&s3_east, EXPORT).await.is_empty());
    assert!(keys(&s3_west, IMPORT).await.is_empty());
}

#[tokio::test]
async fn without_the_export_buckets_a_cross_region_redis_drill_is_refused_before_anything_is_created(
) {
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.target_region = Some(WEST.to_owned());
    let clients = DrillClients::new(&sdk("http://127.0.0.1:9", REGION).await, Some(WEST));
    let err = ohmc_drill::run_drill(&clients, &c, &ohmc_drill::no_events, std::future::pending())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redis_export_bucket"), "{err}");
    assert!(!Ledger::dir(state.path()).exists());
}
