//! Seeding a moto account through the Rust SDK: the `Seeder`, the staging stack it
//! creates, and the certificate helpers. The pieces the multi-account baseline seeds
//! too (WAF rules and ACL, trail bucket, Config recorder, detector, DB instance, backup
//! plan) come from `harness::seed`.

use super::*;
use crate::harness::seed;
pub(super) use crate::harness::seed::{visibility, waf_rules};

/// The SDK clients the seeding uses.
pub(super) struct Seeder {
    pub(super) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(super) acm: aws_sdk_acm::Client,
    pub(super) r53: aws_sdk_route53::Client,
    pub(super) waf: aws_sdk_wafv2::Client,
    pub(super) backup: aws_sdk_backup::Client,
    pub(super) config: aws_sdk_config::Client,
    pub(super) gd: aws_sdk_guardduty::Client,
    pub(super) ct: aws_sdk_cloudtrail::Client,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) rds: aws_sdk_rds::Client,
}

/// What the staging seed created: the stack outputs plus the ids the scenarios mutate.
pub(super) struct Staging {
    pub(super) outputs: Map<String, Value>,
    pub(super) alb_arn: String,
    pub(super) alb_dns: String,
    pub(super) alb_zone: String,
    pub(super) zone_id: String,
    pub(super) cert_arn: String,
    pub(super) acl_name: String,
    pub(super) acl_id: String,
    pub(super) acl_arn: String,
    pub(super) plan_id: String,
    pub(super) detector_id: String,
    pub(super) subnets: Vec<String>,
}

impl Seeder {
    pub(super) async fn new(endpoint: &str) -> Self {
        let cfg = seed::sdk(endpoint, REGION).await;
        Seeder {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&cfg),
            acm: aws_sdk_acm::Client::new(&cfg),
            r53: aws_sdk_route53::Client::new(&cfg),
            waf: aws_sdk_wafv2::Client::new(&cfg),
            backup: aws_sdk_backup::Client::new(&cfg),
            config: aws_sdk_config::Client::new(&cfg),
            gd: aws_sdk_guardduty::Client::new(&cfg),
            ct: aws_sdk_cloudtrail::Client::new(&cfg),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&cfg)
                    .force_path_style(true)
                    .build(),
            ),
            rds: aws_sdk_rds::Client::new(&cfg),
        }
    }

    pub(super) async fn load_balancer(
        &self,
        name: &str,
        subnets: &[String],
    ) -> (String, String, String) {
        let out = self
            .elb
            .create_load_balancer()
            .name(name)
            .set_subnets(Some(subnets.to_vec()))
            .send()
            .await
            .unwrap();
        let lb = &out.load_balancers()[0];
        (
            lb.load_balancer_arn().unwrap().to_string(),
            lb.dns_name().unwrap().to_string(),
            lb.canonical_hosted_zone_id().unwrap().to_string(),
        )
    }

    /// An HTTPS listener on the load balancer serving the certificate (a fixed 200
    /// response); returns its ARN.
    pub(super) async fn https_listener(&self, alb_arn: &str, port: i32, cert_arn: &str) -> String {
        use aws_sdk_elasticloadbalancingv2::types as elbt;
        let out = self
            .elb
            .create_listener()
            .load_balancer_arn(alb_arn)
            .protocol(elbt::ProtocolEnum::Https)
            .port(port)
            .certificates(
                elbt::Certificate::builder()
                    .certificate_arn(cert_arn)
                    .build(),
            )
            .default_actions(
                elbt::Action::builder()
                    .r#type(elbt::ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        elbt::FixedResponseActionConfig::builder()
                            .status_code("200")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.listeners()[0].listener_arn().unwrap().to_string()
    }

    pub(super) async fn request_cert(&self, names: &[&str]) -> String {
        let out = self
            .acm
            .request_certificate()
            .domain_name(names[0])
            .set_subject_alternative_names(Some(names.iter().map(|s| s.to_string()).collect()))
            .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
            .send()
            .await
            .unwrap();
        out.certificate_arn().unwrap().to_string()
    }

    pub(super) async fn import_cert(&self, key_bits: u32, days: i64) -> String {
        let (cert, key) = make_cert(key_bits, days);
        let out = self
            .acm
            .import_certificate()
            .certificate(aws_smithy_types::Blob::new(cert))
            .private_key(aws_smithy_types::Blob::new(key))
            .send()
            .await
            .unwrap();
        out.certificate_arn().unwrap().to_string()
    }

    pub(super) async fn record(
        &self,
        zone: &str,
        action: aws_sdk_route53::types::ChangeAction,
        rrset: aws_sdk_route53::types::ResourceRecordSet,
    ) {
        use aws_sdk_route53::types::{Change, ChangeBatch};
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(action)
                            .resource_record_set(rrset)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    pub(super) fn alias(
        name: &str,
        zone: &str,
        dns: &str,
    ) -> aws_sdk_route53::types::ResourceRecordSet {
        use aws_sdk_route53::types::{AliasTarget, ResourceRecordSet, RrType};
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(zone)
                    .dns_name(dns)
                    .evaluate_target_health(false)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    pub(super) fn cname(name: &str, value: &str) -> aws_sdk_route53::types::ResourceRecordSet {
        use aws_sdk_route53::types::{ResourceRecord, ResourceRecordSet, RrType};
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap()
    }

    /// A regional web ACL with the rules, associated with the ALB, logging on.
    pub(super) async fn web_acl(
        &self,
        name: &str,
        rules: Vec<aws_sdk_wafv2::types::Rule>,
        alb_arn: &str,
    ) -> (String, String) {
        let (acl_arn, acl_id) = seed::web_acl(&self.waf, name, rules, MOTO_ACCOUNT, REGION).await;
        // AWS replaces an existing association; moto keeps the first, so drop it first.
        self.waf
            .disassociate_web_acl()
            .resource_arn(alb_arn)
            .send()
            .await
            .ok();
        self.waf
            .associate_web_acl()
            .web_acl_arn(&acl_arn)
            .resource_arn(alb_arn)
            .send()
            .await
            .unwrap();
        (acl_arn, acl_id)
    }

    pub(super) async fn update_acl(&self, st: &Staging, rules: Vec<aws_sdk_wafv2::types::Rule>) {
        use aws_sdk_wafv2::types::*;
        let got = self
            .waf
            .get_web_acl()
            .name(&st.acl_name)
            .scope(Scope::Regional)
            .id(&st.acl_id)
            .send()
            .await
            .unwrap();
        self.waf
            .update_web_acl()
            .name(&st.acl_name)
            .scope(Scope::Regional)
            .id(&st.acl_id)
            .lock_token(got.lock_token().unwrap())
            .default_action(
                DefaultAction::builder()
                    .allow(AllowAction::builder().build())
                    .build(),
            )
            .set_rules(Some(rules))
            .visibility_config(visibility("ohmc-staging", true))
            .send()
            .await
            .unwrap();
    }

    /// A plan with a `daily` rule into the staging vault.
    pub(super) async fn backup_plan(
        &self,
        name: &str,
        schedule: &str,
        keep_days: i64,
        copy_to: Option<&str>,
    ) -> String {
        seed::backup_plan(
            &self.backup,
            name,
            "ohmc-staging",
            schedule,
            keep_days,
            copy_to,
        )
        .await
    }

    pub(super) async fn db(
        &self,
        id: &str,
        encrypted: bool,
        retention: i32,
        deletion_protection: bool,
    ) {
        seed::db_instance(&self.rds, id, encrypted, retention, deletion_protection).await;
    }

    pub(super) async fn trail(&self, name: &str, full: bool) -> String {
        let mut req = self
            .ct
            .create_trail()
            .name(name)
            .s3_bucket_name(TRAIL_BUCKET);
        if full {
            req = req
                .is_multi_region_trail(true)
                .enable_log_file_validation(true)
                .kms_key_id(KMS_KEY)
                .cloud_watch_logs_log_group_arn(
                    "arn:aws:logs:us-east-1:123456789012:log-group:ohmc-cloudtrail:*",
                )
                .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/ohmc-cloudtrail-logs");
        }
        let out = req.send().await.unwrap();
        self.ct.start_logging().name(name).send().await.unwrap();
        out.trail_arn().unwrap().to_string()
    }

    /// A compliant staging-like account.
    pub(super) async fn staging(&self, moto: &MotoServer) -> Staging {
        let subnets = moto.default_subnets();
        let (alb_arn, alb_dns, alb_zone) = self.load_balancer("ohmc-staging", &subnets).await;

        let cert_arn = self
            .request_cert(&["staging.ohmycoins.io", "*.staging.ohmycoins.io"])
            .await;
        let listener_arn = self.https_listener(&alb_arn, 443, &cert_arn).await;

        let zone = self
            .r53
            .create_hosted_zone()
            .name("staging.ohmycoins.io")
            .caller_reference("ohmc-seed")
            .send()
            .await
            .unwrap();
        let zone_id = zone
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        for d in DOMAINS {
            self.record(
                &zone_id,
                aws_sdk_route53::types::ChangeAction::Create,
                Self::alias(d, &alb_zone, &format!("dualstack.{alb_dns}")),
            )
            .await;
        }

        let (acl_arn, acl_id) = self
            .web_acl(
                "ohmc-staging",
                waf_rules(&MANAGED_GROUPS, true, true),
                &alb_arn,
            )
            .await;

        self.backup
            .create_backup_vault()
            .backup_vault_name("ohmc-staging")
            .encryption_key_arn(KMS_KEY)
            .send()
            .await
            .unwrap();
        let plan_id = self
            .backup_plan("ohmc-staging", "cron(0 5 ? * * *)", 35, None)
            .await;

        seed::private_bucket(&self.s3, TRAIL_BUCKET, REGION).await;
        self.trail("ohmc-staging", true).await;

        seed::config_recorder(&self.config, MOTO_ACCOUNT, TRAIL_BUCKET).await;
        use aws_sdk_config::types as cfgt;
        for (name, id) in [
            ("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED"),
            ("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED"),
        ] {
            self.config
                .put_config_rule()
                .config_rule(
                    cfgt::ConfigRule::builder()
                        .config_rule_name(name)
                        .source(
                            cfgt::Source::builder()
                                .owner(cfgt::Owner::Aws)
                                .source_identifier(id)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }

        let detector_id = seed::detector(&self.gd).await;

        self.db(DB_ID, true, 7, false).await;

        let outputs = json!({
            "alb_arn": {"value": alb_arn, "type": "string", "sensitive": false},
            "alb_dns_name": alb_dns,
            "https_listener_arn": listener_arn,
            "hosted_zone_id": zone_id,
            "certificate_arn": cert_arn,
            "web_acl_arn": acl_arn,
            "backup_plan_id": plan_id,
            "backup_vault_name": "ohmc-staging",
            "config_recorder_name": "default",
            "guardduty_detector_id": detector_id,
            "cloudtrail_name": "ohmc-staging",
            "cloudtrail_bucket_name": TRAIL_BUCKET,
            "rds_instance_ids": [DB_ID],
        });
        Staging {
            outputs: outputs.as_object().unwrap().clone(),
            alb_arn,
            alb_dns,
            alb_zone,
            zone_id,
            cert_arn,
            acl_name: "ohmc-staging".into(),
            acl_id,
            acl_arn,
            plan_id,
            detector_id,
            subnets,
        }
    }
}

/// A self-signed certificate for `staging.ohmycoins.io` and `*.staging.ohmycoins.io`
/// with the given RSA key size, expiring in `days`, made with the `cryptography` package
/// of the pinned tools' Python (installed with moto). Returns (cert PEM, key PEM).
pub(super) fn make_cert(key_bits: u32, days: i64) -> (Vec<u8>, Vec<u8>) {
    let python = crate::harness::tools_bin().join("../venv/bin/python3");
    let script = format!(
        r#"
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size={key_bits})
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staging.ohmycoins.io")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days={days}))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("staging.ohmycoins.io"), x509.DNSName("*.staging.ohmycoins.io")]), critical=False)
    .sign(key, hashes.SHA256()))
sys.stdout.write(cert.public_bytes(serialization.Encoding.PEM).decode())
sys.stdout.write("----SPLIT----")
sys.stdout.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode())
"#
    );
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python for certificates");
    assert!(
        out.status.success(),
        "make_cert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (cert, key) = text.split_once("----SPLIT----").unwrap();
    (cert.as_bytes().to_vec(), key.as_bytes().to_vec())
}

/// Makes `st.cert_arn` the stack's certificate, served by a new HTTPS listener that
/// becomes the stack's listener. (moto's ModifyListener does not update the
/// certificate's InUseBy; CreateListener does.)
pub(super) async fn attach_cert(seeder: &Seeder, st: &mut Staging) {
    st.outputs
        .insert("certificate_arn".into(), json!(st.cert_arn));
    let listener = seeder.https_listener(&st.alb_arn, 8443, &st.cert_arn).await;
    st.outputs
        .insert("https_listener_arn".into(), json!(listener));
}
