//! Terraform's S3 backend on moto, for fixtures: state in a bucket, locks in
//! DynamoDB on Terraform 1.0.3 and in an S3 lock file (`use_lockfile`) on
//! 1.15.5, the way each release locks on AWS.
//!
//! A fixture switched to it ([`super::fixture::Fixture::on_s3`]) has every
//! stack's `backend "local" {}` turned into `backend "s3" {}` and every
//! environment given a `backend.hcl`; each stack's `path = "X.tfstate"`
//! becomes `key = "ENV/X.tfstate"`.

use std::path::Path;

use regex::Regex;

use super::fixture::Tf;
use super::moto::MotoServer;

pub const STATE_BUCKET: &str = "ohmc-fixture-state";
pub const LOCK_TABLE: &str = "ohmc-fixture-locks";
pub const REGION: &str = "us-east-1";

/// Environment variables every process that talks to the backend needs: any
/// credentials do for moto, and no instance metadata lookups.
pub fn aws_env() -> [(&'static str, &'static str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// The backend config file for one environment, in the dialect of `tf`.
pub fn backend_hcl(tf: Tf, endpoint: &str) -> String {
    match tf {
        Tf::Oldest => format!(
            r#"bucket                      = "{STATE_BUCKET}"
region                      = "{REGION}"
dynamodb_table              = "{LOCK_TABLE}"
encrypt                     = true
endpoint                    = "{endpoint}"
dynamodb_endpoint           = "{endpoint}"
sts_endpoint                = "{endpoint}"
force_path_style            = true
skip_credentials_validation = true
skip_metadata_api_check     = true
skip_region_validation      = true
"#
        ),
        Tf::Current => format!(
            r#"bucket                      = "{STATE_BUCKET}"
region                      = "{REGION}"
use_lockfile                = true
encrypt                     = true
use_path_style              = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
endpoints = {{
  s3  = "{endpoint}"
  sts = "{endpoint}"
}}
"#
        ),
    }
}

/// Creates the state bucket (versioned) and, for 1.0.3, the lock table.
pub fn create_backend(moto: &MotoServer, tf: Tf) {
    let (status, body) = s3(moto, "PUT", &format!("/{STATE_BUCKET}"), "");
    assert_eq!(status, 200, "creating the state bucket: {body}");
    let versioning = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    let (status, body) = s3(
        moto,
        "PUT",
        &format!("/{STATE_BUCKET}?versioning"),
        versioning,
    );
    assert_eq!(status, 200, "versioning the state bucket: {body}");
    if tf == Tf::Oldest {
        let table = format!(
            r#"{{"TableName":"{LOCK_TABLE}","KeySchema":[{{"AttributeName":"LockID","KeyType":"HASH"}}],"AttributeDefinitions":[{{"AttributeName":"LockID","AttributeType":"S"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
        );
        let (status, body) = dynamodb(moto, "CreateTable", &table);
        assert_eq!(status, 200, "creating the lock table: {body}");
    }
}

/// One DynamoDB JSON call: `(status, body)`.
pub fn dynamodb(moto: &MotoServer, operation: &str, body: &str) -> (u16, String) {
    let target = format!("DynamoDB_20120810.{operation}");
    let headers = [
        ("Authorization", auth("dynamodb")),
        ("X-Amz-Target", target),
        ("Content-Type", "application/x-amz-json-1.0".to_string()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    moto.raw("POST", "/", &headers, body)
}

/// The lock items in the DynamoDB lock table (their `LockID`s), sorted;
/// Terraform 1.0.3 also keeps a `-md5` digest item per state, not a lock.
pub fn lock_items(moto: &MotoServer) -> Vec<String> {
    let (status, body) = dynamodb(moto, "Scan", &format!(r#"{{"TableName":"{LOCK_TABLE}"}}"#));
    assert_eq!(status, 200, "scanning the lock table: {body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut ids: Vec<String> = doc["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item.get("Info").is_some())
        .filter_map(|item| item["LockID"]["S"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// Keys of the objects in the state bucket, sorted.
pub fn bucket_keys(moto: &MotoServer) -> Vec<String> {
    let (status, body) = s3(moto, "GET", &format!("/{STATE_BUCKET}?list-type=2"), "");
    assert_eq!(status, 200, "listing the state bucket: {body}");
    let mut keys: Vec<String> = Regex::new(r"<Key>([^<]+)</Key>")
        .unwrap()
        .captures_iter(&body)
        .map(|c| c[1].to_string())
        .collect();
    keys.sort();
    keys
}

/// One object of the state bucket.
pub fn object(moto: &MotoServer, key: &str) -> Option<String> {
    let (status, body) = s3(moto, "GET", &format!("/{STATE_BUCKET}/{key}"), "");
    (status == 200).then_some(body)
}

/// Whatever holds a lock on `key` now, in either locking scheme.
pub fn held_locks(moto: &MotoServer, tf: Tf) -> Vec<String> {
    match tf {
        Tf::Oldest => lock_items(moto),
        Tf::Current => bucket_keys(moto)
            .into_iter()
            .filter(|k| k.ends_with(".tflock"))
            .collect(),
    }
}

/// Leaves a lock on `state_key` the way a crashed Terraform `tf` would: the
/// lock item in DynamoDB (1.0.3) or the `.tflock` object (1.15.5), holding
/// lock info with `id`.
pub fn plant_lock(moto: &MotoServer, tf: Tf, state_key: &str, id: &str) {
    let path = format!("{STATE_BUCKET}/{state_key}");
    let info = serde_json::json!({
        "ID": id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "runner@crashed-ci-host",
        "Version": tf.version(),
        "Created": "2026-12-03T09:00:00.000000000Z",
        "Path": path,
    })
    .to_string();
    let (status, body) = match tf {
        Tf::Oldest => dynamodb(
            moto,
            "PutItem",
            &serde_json::json!({
                "TableName": LOCK_TABLE,
                "Item": {"LockID": {"S": path}, "Info": {"S": info}},
            })
            .to_string(),
        ),
        Tf::Current => s3(
            moto,
            "PUT",
            &format!("/{STATE_BUCKET}/{state_key}.tflock"),
            &info,
        ),
    };
    assert_eq!(status, 200, "planting a lock: {body}");
}

/// One object of any bucket.
pub fn object_in(moto: &MotoServer, bucket: &str, key: &str) -> Option<String> {
    let (status, body) = s3(moto, "GET", &format!("/{bucket}/{key}"), "");
    (status == 200).then_some(body)
}

/// Removes a bucket's policy.
pub fn delete_bucket_policy(moto: &MotoServer, bucket: &str) {
    let (status, body) = s3(moto, "DELETE", &format!("/{bucket}?policy"), "");
    assert_eq!(status, 204, "deleting the policy of {bucket}: {body}");
}

/// moto routes a request to a service by the credential scope of its
/// (unverified) signature.
fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20261203/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// One S3 call, path-style.
fn s3(moto: &MotoServer, method: &str, path: &str, body: &str) -> (u16, String) {
    moto.raw(method, path, &[("Authorization", &auth("s3"))], body)
}

/// Rewrites a copied fixture to keep its state in S3.
pub fn switch_fixture(root: &Path, tf: Tf, endpoint: &str) {
    let local = Regex::new(r#"backend\s+"local"\s*\{\s*\}"#).unwrap();
    for tf_file in super::files_under(&root.join("stacks"), &[".tf"]) {
        let text = std::fs::read_to_string(&tf_file).unwrap();
        std::fs::write(
            &tf_file,
            local.replace_all(&text, r#"backend "s3" {}"#).as_ref(),
        )
        .unwrap();
    }
    let path_value = Regex::new(r#"backend_values\s*=\s*\{\s*path\s*=\s*"([^"]+)"\s*\}"#).unwrap();
    for env_file in super::files_under(&root.join("environments"), &["environment.hcl"]) {
        let env_dir = env_file.parent().unwrap();
        let env = env_dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&env_file).unwrap();
        let switched = path_value.replace_all(&text, |c: &regex::Captures| {
            format!(
                "backend_config = \"backend.hcl\"\n  backend_values = {{ key = \"{env}/{}\" }}",
                &c[1]
            )
        });
        std::fs::write(&env_file, switched.as_ref()).unwrap();
        std::fs::write(env_dir.join("backend.hcl"), backend_hcl(tf, endpoint)).unwrap();
    }
}
