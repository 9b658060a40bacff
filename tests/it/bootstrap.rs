//! `ohmc-infra bootstrap ENV` through the binary against a real moto server: what it
//! creates is read back with the Rust SDK, property by property; a second run changes
//! nothing; a dry run writes nothing; existing buckets that fall short are refused with
//! the gap named and left as they were.

use std::process::Command;

use aws_config::SdkConfig;
use serde_json::Value;

use crate::harness::fixture::{Fixture, Run};
use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::seed::{self, SeedTarget};

const BUCKET: &str = "ohmc-dev-tfstate-123456789012";
const TABLE: &str = "ohmc-dev-tflock";
const ALIAS: &str = "alias/terraform-state";
const REGION: &str = "us-east-1";

fn backend_hcl(lock: &str, extra: &str) -> String {
    format!(
        "bucket     = \"{BUCKET}\"\nregion     = \"{REGION}\"\nencrypt    = true\nkms_key_id = \"{ALIAS}\"\n{lock}\n{extra}"
    )
}

const DYNAMODB_LOCK: &str = "dynamodb_table = \"ohmc-dev-tflock\"";
const LOCKFILE: &str = "use_lockfile = true";

fn fixture(backend: &str) -> Fixture {
    let f = Fixture::new("bootstrap");
    f.write("environments/dev/backend.hcl", backend);
    f
}

fn bootstrap_cmd(f: &Fixture, endpoint: &str, extra: &[&str]) -> (Vec<String>, Command) {
    let mut args = vec!["bootstrap", "dev", "--endpoint-url", endpoint];
    args.extend_from_slice(extra);
    let mut cmd = f.cmd(&args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    (args.iter().map(|s| s.to_string()).collect(), cmd)
}

/// Runs the binary off the async runtime (moto is a separate process; the SDK
/// clients of the test share the runtime).
async fn bootstrap(f: &Fixture, endpoint: &str, extra: &[&str]) -> Run {
    let (args, mut cmd) = bootstrap_cmd(f, endpoint, extra);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("running ohmc-infra"))
        .await
        .unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    f.finish(&args, out)
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", run.stdout, run.stderr))
}

fn expect_code(run: &Run, code: i32) {
    assert_eq!(
        run.code, code,
        "exit code\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

struct Clients {
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    ddb: aws_sdk_dynamodb::Client,
}

fn clients(cfg: &SdkConfig) -> Clients {
    Clients {
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(cfg)
                .force_path_style(true)
                .build(),
        ),
        kms: aws_sdk_kms::Client::new(cfg),
        ddb: aws_sdk_dynamodb::Client::new(cfg),
    }
}

async fn moto_clients(moto: &MotoServer) -> Clients {
    clients(&seed::sdk(&moto.endpoint(), REGION).await)
}

/// The resource of a kind in a JSON report.
fn resource<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {doc:#}"))
}

/// Every property the backend needs, read back from moto.
async fn assert_backend_as_required(c: &Clients, with_table: bool) {
    // The key: enabled, rotating, under the alias.
    let key = c
        .kms
        .describe_key()
        .key_id(ALIAS)
        .send()
        .await
        .expect("key under the alias");
    let meta = key.key_metadata().unwrap();
    assert_eq!(
        meta.key_state(),
        Some(&aws_sdk_kms::types::KeyState::Enabled)
    );
    let key_arn = meta.arn().unwrap().to_string();
    let rotation = c
        .kms
        .get_key_rotation_status()
        .key_id(meta.key_id())
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled(), "key rotation is on");

    // The bucket.
    let v =
        c.s3.get_bucket_versioning()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    assert_eq!(
        v.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    let enc =
        c.s3.get_bucket_encryption()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(
        default.sse_algorithm(),
        &aws_sdk_s3::types::ServerSideEncryption::AwsKms
    );
    assert_eq!(default.kms_master_key_id(), Some(key_arn.as_str()));
    let pab =
        c.s3.get_public_access_block()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let own =
        c.s3.get_bucket_ownership_controls()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    assert_eq!(
        own.ownership_controls().unwrap().rules()[0].object_ownership(),
        &aws_sdk_s3::types::ObjectOwnership::BucketOwnerEnforced
    );
    let policy =
        c.s3.get_bucket_policy()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let tls = statements
        .iter()
        .find(|s| s["Sid"] == "DenyInsecureTransport")
        .expect("TLS-only statement");
    assert_eq!(tls["Effect"], "Deny");
    assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let same = statements
        .iter()
        .find(|s| s["Sid"] == "DenyOtherAccounts")
        .expect("same-account statement");
    assert_eq!(same["Effect"], "Deny");
    assert_eq!(
        same["Condition"]["StringNotEquals"]["aws:PrincipalAccount"],
        MOTO_ACCOUNT
    );
    assert_eq!(
        same["Resource"],
        serde_json::json!([
            format!("arn:aws:s3:::{BUCKET}"),
            format!("arn:aws:s3:::{BUCKET}/*")
        ])
    );

    // The lock table, or none.
    let table = c.ddb.describe_table().table_name(TABLE).send().await;
    if !with_table {
        let err = table.expect_err("use_lockfile: no table");
        assert_eq!(
            aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err),
            Some("ResourceNotFoundException")
        );
        return;
    }
    let table = table.expect("lock table").table.unwrap();
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(keys, vec![("LockID".to_string(), "HASH".to_string())]);
    assert_eq!(
        table.attribute_definitions()[0].attribute_type(),
        &aws_sdk_dynamodb::types::ScalarAttributeType::S
    );
    let sse = table.sse_description().expect("SSE description");
    assert_eq!(sse.sse_type(), Some(&aws_sdk_dynamodb::types::SseType::Kms));
    assert_eq!(sse.kms_master_key_arn(), Some(key_arn.as_str()));
    let pitr = c
        .ddb
        .describe_continuous_backups()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pitr.continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str()),
        Some("ENABLED")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_the_backend_then_a_second_run_changes_nothing() {
    let moto = MotoServer::start();
    let f = fixture(&backend_hcl(DYNAMODB_LOCK, ""));
    let endpoint = moto.endpoint();

    let first = bootstrap(&f, &endpoint, &[]).await;
    expect_code(&first, 0);
    assert!(
        first
            .stdout
            .starts_with("Bootstrap dev (account 123456789012, us-east-1)\n"),
        "{}",
        first.stdout
    );
    for line in [
        format!("  kms key         {ALIAS}"),
        format!("  s3 bucket       {BUCKET}"),
        format!("  dynamodb table  {TABLE}"),
    ] {
        let found = first
            .stdout
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("no line {line:?} in\n{}", first.stdout));
        assert!(found.ends_with("  created"), "{found}");
    }
    // Progress lines on stderr, one per write call.
    for op in [
        "CreateKey",
        "CreateBucket",
        "PutBucketPolicy",
        "CreateTable",
        "UpdateContinuousBackups",
    ] {
        assert!(
            first.stderr.contains(op),
            "progress line for {op}: {}",
            first.stderr
        );
    }
    let c = moto_clients(&moto).await;
    assert_backend_as_required(&c, true).await;

    let second = bootstrap(&f, &endpoint, &["--format", "json"]).await;
    expect_code(&second, 0);
    let doc = json_of(&second);
    assert_eq!(doc["command"], "bootstrap");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["changed"], false);
    for kind in ["kms_key", "s3_bucket", "dynamodb_table"] {
        let r = resource(&doc, kind);
        assert_eq!(r["action"], "exists", "{r}");
        assert_eq!(r["changes"], serde_json::json!([]), "{r}");
    }
    // A second run only reads.
    let calls = doc["api_calls"].as_object().unwrap();
    assert!(!calls.is_empty());
    for action in calls.keys() {
        assert!(
            ohmc_checks::iam::is_read_action(action) || action == "sts:GetCallerIdentity",
            "second run made a write call: {action}"
        );
    }

    let human = bootstrap(&f, &endpoint, &[]).await;
    expect_code(&human, 0);
    assert_eq!(
        human
            .stdout
            .lines()
            .filter(|l| l.ends_with("  exists, as required"))
            .count(),
        3,
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("Nothing to change: the state backend exists, as required."),
        "{}",
        human.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn use_lockfile_needs_no_table_and_a_new_key_without_kms_key_id() {
    let moto = MotoServer::start();
    // No kms_key_id: the key is made under the module's alias.
    let backend = format!("bucket = \"{BUCKET}\"\nregion = \"{REGION}\"\nuse_lockfile = true\n");
    let f = fixture(&backend);
    let run = bootstrap(&f, &moto.endpoint(), &["--format", "json"]).await;
    expect_code(&run, 0);
    let doc = json_of(&run);
    assert_eq!(doc["backend"]["lock"]["kind"], "lockfile");
    assert_eq!(resource(&doc, "kms_key")["name"], ALIAS);
    assert!(
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] != "dynamodb_table"),
        "{doc:#}"
    );
    assert!(
        !doc["api_calls"]
            .as_object()
            .unwrap()
            .keys()
            .any(|a| a.starts_with("dynamodb:")),
        "no DynamoDB call at all with use_lockfile: {doc:#}"
    );
    let c = moto_clients(&moto).await;
    assert_backend_as_required(&c, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_plan_and_writes_nothing() {
    let moto = MotoServer::start();
    let f = fixture(&backend_hcl(DYNAMODB_LOCK, ""));
    let endpoint = moto.endpoint();

    let human = bootstrap(&f, &endpoint, &["--dry-run"]).await;
    expect_code(&human, 2);
    assert!(
        human
            .stdout
            .starts_with("Bootstrap dev, dry run (account 123456789012, us-east-1)\n"),
        "{}",
        human.stdout
    );
    assert_eq!(
        human
            .stdout
            .lines()
            .filter(|l| l.ends_with("  would create"))
            .count(),
        3,
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("      + versioning enabled"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("      + point-in-time recovery on"),
        "{}",
        human.stdout
    );

    let run = bootstrap(&f, &endpoint, &["--dry-run", "--format", "json"]).await;
    expect_code(&run, 2);
    let doc = json_of(&run);
    assert_eq!(doc["dry_run"], true);
    for kind in ["kms_key", "s3_bucket", "dynamodb_table"] {
        assert_eq!(resource(&doc, kind)["action"], "create");
    }
    // Proof one: every call the run made is a read.
    for action in doc["api_calls"].as_object().unwrap().keys() {
        assert!(
            ohmc_checks::iam::is_read_action(action) || action == "sts:GetCallerIdentity",
            "a dry run made a write call: {action}"
        );
    }
    // Proof two: moto holds none of it.
    let c = moto_clients(&moto).await;
    let buckets = c.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
    let keys = c.kms.list_keys().send().await.unwrap();
    assert!(keys.keys().is_empty(), "{keys:?}");
    let tables = c.ddb.list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty(), "{tables:?}");
    assert!(!run.stderr.contains("CreateBucket"), "{}", run.stderr);
}

/// A bucket made by hand before bootstrap, in moto's default account.
async fn hand_made_bucket(c: &Clients, versioning: bool, kms_key: Option<&str>) {
    c.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    if versioning {
        c.s3.put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    if let Some(key) = kms_key {
        let by_default = aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
            .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .kms_master_key_id(key)
            .build()
            .unwrap();
        c.s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(
                aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                    .rules(
                        aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// The state key, made by hand under the alias; its ARN.
async fn hand_made_key(c: &Clients) -> String {
    let key = c.kms.create_key().send().await.unwrap();
    let meta = key.key_metadata().unwrap();
    c.kms
        .create_alias()
        .alias_name(ALIAS)
        .target_key_id(meta.key_id())
        .send()
        .await
        .unwrap();
    meta.arn().unwrap().to_string()
}

/// Asserts a refusal: exit 1, the gap named on the bucket's line, and nothing
/// written (no key, no table, no policy).
async fn assert_refused(f: &Fixture, moto: &MotoServer, c: &Clients, gap: &str) {
    let run = bootstrap(f, &moto.endpoint(), &[]).await;
    expect_code(&run, 1);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(&format!("  s3 bucket       {BUCKET}"))
                && l.ends_with("  REFUSED")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("      ! {gap}")),
        "gap {gap:?} not named:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Refused: nothing was changed."),
        "{}",
        run.stdout
    );
    let tables = c.ddb.list_tables().send().await.unwrap();
    assert!(
        tables.table_names().is_empty(),
        "a refusal created the table"
    );
    let policy = c.s3.get_bucket_policy().bucket(BUCKET).send().await;
    assert!(policy.is_err(), "a refusal wrote a bucket policy");

    let json = bootstrap(f, &moto.endpoint(), &["--format", "json"]).await;
    expect_code(&json, 1);
    let doc = json_of(&json);
    assert_eq!(doc["refused"], true);
    let bucket = resource(&doc, "s3_bucket");
    assert_eq!(bucket["action"], "refuse");
    assert!(
        bucket["gaps"].as_array().unwrap().iter().any(|g| g == gap),
        "{bucket}"
    );
    for action in doc["api_calls"].as_object().unwrap().keys() {
        assert!(
            ohmc_checks::iam::is_read_action(action) || action == "sts:GetCallerIdentity",
            "a refusal made a write call: {action}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_without_versioning_is_refused_and_left_alone() {
    let moto = MotoServer::start();
    let c = moto_clients(&moto).await;
    let key = hand_made_key(&c).await;
    hand_made_bucket(&c, false, Some(&key)).await;
    let f = fixture(&backend_hcl(DYNAMODB_LOCK, ""));
    assert_refused(
        &f,
        &moto,
        &c,
        "versioning was never enabled: a bad apply could not be undone",
    )
    .await;
    let v =
        c.s3.get_bucket_versioning()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    assert_eq!(v.status(), None, "versioning was turned on silently");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_without_encryption_is_refused_and_left_alone() {
    let moto = MotoServer::start();
    let c = moto_clients(&moto).await;
    hand_made_key(&c).await;
    hand_made_bucket(&c, true, None).await;
    let f = fixture(&backend_hcl(DYNAMODB_LOCK, ""));
    assert_refused(&f, &moto, &c, "no default encryption").await;
    let enc = c.s3.get_bucket_encryption().bucket(BUCKET).send().await;
    assert!(enc.is_err(), "encryption was turned on silently: {enc:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_of_another_account_is_refused() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    // The bucket's name is taken by account 210987654321 (STS AssumeRole into it gives
    // that account's own, isolated resources in moto).
    let other = SeedTarget::assume(&endpoint, REGION, "210987654321", "owner").await;
    let theirs = clients(&other.cfg);
    hand_made_key(&theirs).await;
    let their_key = theirs
        .kms
        .describe_key()
        .key_id(ALIAS)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    hand_made_bucket(&theirs, true, Some(&their_key)).await;

    let f = fixture(&backend_hcl(DYNAMODB_LOCK, ""));
    let ours = moto_clients(&moto).await;
    assert_refused(
        &f,
        &moto,
        &ours,
        "the bucket exists in another account (it is not among account 123456789012's buckets)",
    )
    .await;
    // Our account got no key either: a refusal writes nothing anywhere.
    let keys = ours.kms.list_keys().send().await.unwrap();
    assert!(keys.keys().is_empty(), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_compliant_bucket_gets_only_what_it_lacks() {
    let moto = MotoServer::start();
    let c = moto_clients(&moto).await;
    let key = hand_made_key(&c).await;
    hand_made_bucket(&c, true, Some(&key)).await;
    let f = fixture(&backend_hcl(LOCKFILE, ""));
    let run = bootstrap(&f, &moto.endpoint(), &["--format", "json"]).await;
    expect_code(&run, 0);
    let doc = json_of(&run);
    assert_eq!(resource(&doc, "kms_key")["action"], "exists");
    let bucket = resource(&doc, "s3_bucket");
    assert_eq!(bucket["action"], "update", "{bucket}");
    assert_eq!(
        bucket["changes"],
        serde_json::json!([
            "all public access blocked",
            "object ownership BucketOwnerEnforced (ACLs off)",
            "bucket policy: TLS only, this account only"
        ])
    );
    assert!(!doc["api_calls"]
        .as_object()
        .unwrap()
        .contains_key("s3:CreateBucket"));
    assert_backend_as_required(&c, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn static_keys_in_the_backend_config_are_refused_before_any_call() {
    // No moto at all: the refusal comes before the first AWS call, and the endpoint
    // points nowhere.
    let f = fixture(&backend_hcl(
        DYNAMODB_LOCK,
        "access_key = \"AKIAIOSFODNN7EXAMPLE\"\nsecret_key = \"CANARY-wJalrXUtnFEMI\"\n",
    ));
    let run = bootstrap(&f, "http://127.0.0.1:9", &[]).await;
    expect_code(&run, 1);
    assert!(
        run.stderr.contains("backend.hcl:6: `access_key` is a static AWS credential in the backend configuration; remove it: credentials for the state come from the AWS chain"),
        "{}",
        run.stderr
    );
    assert!(
        !run.both().contains("AKIAIOSFODNN7EXAMPLE"),
        "{}",
        run.both()
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
