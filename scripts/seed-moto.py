#!/usr/bin/env python3
"""Seeds a moto server with a compliant, staging-like Oh My Coins account and writes
the stack outputs that describe it, in `terraform output -json` shape.

    .tools/venv/bin/python scripts/seed-moto.py --endpoint http://127.0.0.1:PORT \
        --out OUTPUTS.json [--env-file environments/staging/environment.hcl]

What it creates is read from the environment file: the account's region and role
(`aws {}`), the domain names, WAF managed rule groups, Config rules, GuardDuty
frequency, backup retention and RPO (`verify {}`), and the RDS instance and Redis
group names (`drill {}`). Each resource is shaped like the Rust seed of a compliant
account in tests/it/verify.rs, so every check that moto can answer passes.

Run by scripts/run-local; needs boto3 (moto's dependency) and, for an imported
certificate, `cryptography` (otherwise a certificate is requested, which is ISSUED at
once only when the server runs with MOTO_ACM_VALIDATION_WAIT=0).
"""

import argparse
import datetime
import json
import re
import sys
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent


# --- the environment file (the few HCL shapes it uses) -----------------------------

def hcl_block(text, name):
    """The body of the first top-level `name {` block, or ''."""
    m = re.search(r"^\s*" + re.escape(name) + r"\s*\{", text, re.MULTILINE)
    if not m:
        return ""
    depth, i = 1, m.end()
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1]


def hcl_attrs(body):
    """`key = "s"`, `key = 7`, `key = true`, `key = ["a", "b"]` (lists may span lines)."""
    body = re.sub(r"#[^\n]*", "", body)
    out = {}
    for m in re.finditer(r"^\s*(\w+)\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|[\w.\-]+)", body, re.MULTILINE | re.DOTALL):
        key, raw = m.group(1), m.group(2)
        if raw.startswith("["):
            out[key] = re.findall(r"\"([^\"]*)\"", raw)
        elif raw.startswith('"'):
            out[key] = raw[1:-1]
        elif raw in ("true", "false"):
            out[key] = raw == "true"
        else:
            try:
                out[key] = int(raw)
            except ValueError:
                out[key] = raw
    return out


def duration_hours(text, default):
    m = re.fullmatch(r"(\d+)([smhd])", (text or "").strip())
    if not m:
        return default
    n, unit = int(m.group(1)), m.group(2)
    return n * {"s": 1 / 3600, "m": 1 / 60, "h": 1, "d": 24}[unit]


def load_env(path):
    text = Path(path).read_text()
    aws, verify, drill = (hcl_attrs(hcl_block(text, b)) for b in ("aws", "verify", "drill"))
    name = Path(path).resolve().parent.name
    if not verify.get("domain_names"):
        sys.exit(f"seed-moto: {path} has no verify {{ domain_names = [...] }}")
    return {
        "name": name,
        "account_id": aws.get("account_id"),
        "region": aws.get("region", "us-east-1"),
        "role_arn": aws.get("role_arn"),
        "domains": verify["domain_names"],
        "waf_groups": verify.get("required_waf_rule_groups", []),
        "config_rules": verify.get("required_config_rules", []),
        "gd_frequency": verify.get("guardduty_finding_frequency", "FIFTEEN_MINUTES"),
        "min_retention": int(verify.get("min_backup_retention_days", 7)),
        "rpo_hours": duration_hours(verify.get("rpo_target"), 24),
        "rds": (drill.get("rds_instances") or [f"ohmc-{name}-postgres"]),
        "redis": drill.get("redis_replication_group") or f"ohmc-{name}-redis",
    }


# AWS managed Config rules by the name Terraform gives them (source identifier).
CONFIG_RULE_SOURCES = {
    "cloudtrail-enabled": "CLOUD_TRAIL_ENABLED",
    "rds-storage-encrypted": "RDS_STORAGE_ENCRYPTED",
    "multi-region-cloudtrail-enabled": "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    "guardduty-enabled-centralized": "GUARDDUTY_ENABLED_CENTRALIZED",
    "s3-bucket-public-read-prohibited": "S3_BUCKET_PUBLIC_READ_PROHIBITED",
    "encrypted-volumes": "ENCRYPTED_VOLUMES",
    "root-account-mfa-enabled": "ROOT_ACCOUNT_MFA_ENABLED",
}


def config_source(rule):
    return CONFIG_RULE_SOURCES.get(rule, rule.upper().replace("-", "_"))


# --- the certificate ---------------------------------------------------------------

def self_signed(names, days=365, key_bits=2048):
    """(cert PEM, key PEM), or None when `cryptography` is not installed."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption()),
    )


# --- seeding -----------------------------------------------------------------------

def session_for(endpoint, env):
    """Default moto credentials, or the environment's role assumed through STS (moto
    then answers with credentials of the role's account: the account verify reads)."""
    base = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name=env["region"])
    if not env["role_arn"]:
        return base
    creds = base.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=env["role_arn"], RoleSessionName="ohmc-seed-moto")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                 aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name=env["region"])


def log(msg):
    print(f"seed-moto: {msg}", file=sys.stderr, flush=True)


def seed(endpoint, env):
    sess = session_for(endpoint, env)
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"})

    def client(name):
        return sess.client(name, endpoint_url=endpoint, config=cfg)

    name = env["name"]
    prefix = f"ohmc-{name}"
    region = env["region"]
    account = client("sts").get_caller_identity()["Account"]
    if env["account_id"] and env["account_id"] != account:
        sys.exit(f"seed-moto: seeding account {account}, but the environment says {env['account_id']}")
    log(f"account {account}, region {region}, environment {name}")

    # KMS: one key for the trail, the backup vault, RDS and Redis.
    kms = client("kms")
    key_arn = kms.create_key(Description=f"{prefix} data and logs")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)
    kms.create_alias(AliasName=f"alias/{prefix}", TargetKeyId=key_arn)

    # ALB in the default VPC's subnets.
    ec2 = client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]][:2]
    if len(subnets) < 2:
        sys.exit(f"seed-moto: expected moto's default subnets, got {subnets}")
    elb = client("elbv2")
    lb = elb.create_load_balancer(Name=prefix, Subnets=subnets, Scheme="internet-facing",
                                  Type="application")["LoadBalancers"][0]
    alb_arn, alb_dns, alb_zone = lb["LoadBalancerArn"], lb["DNSName"], lb["CanonicalHostedZoneId"]

    # ACM: a certificate covering every domain name.
    acm = client("acm")
    pem = self_signed(env["domains"])
    if pem:
        cert_arn = acm.import_certificate(Certificate=pem[0], PrivateKey=pem[1])["CertificateArn"]
        log("certificate: imported a self-signed RSA-2048 certificate")
    else:
        cert_arn = acm.request_certificate(DomainName=env["domains"][0],
                                           SubjectAlternativeNames=env["domains"],
                                           ValidationMethod="DNS")["CertificateArn"]
        log("certificate: requested (no `cryptography`; ISSUED at once with MOTO_ACM_VALIDATION_WAIT=0)")

    https = elb.create_listener(
        LoadBalancerArn=alb_arn, Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=[{"Type": "fixed-response",
                         "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain",
                                                 "MessageBody": "ok"}}],
    )["Listeners"][0]["ListenerArn"]
    elb.create_listener(
        LoadBalancerArn=alb_arn, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "redirect",
                         "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )

    # Route 53: a zone for the shortest domain, an alias per name to the ALB.
    r53 = client("route53")
    zone_name = min(env["domains"], key=lambda d: d.count("."))
    zone = r53.create_hosted_zone(Name=zone_name, CallerReference=f"{prefix}-seed")["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": d, "Type": "A",
            "AliasTarget": {"HostedZoneId": alb_zone, "DNSName": f"dualstack.{alb_dns}",
                            "EvaluateTargetHealth": False}}}
        for d in env["domains"]]})

    # WAFv2: managed groups + rate rule, metrics on, associated, logging to CloudWatch Logs.
    logs = client("logs")
    waf_log_group = f"aws-waf-logs-{prefix}"
    logs.create_log_group(logGroupName=waf_log_group)
    trail_log_group = f"{prefix}-cloudtrail"
    logs.create_log_group(logGroupName=trail_log_group)

    def visibility(metric):
        return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}

    rules = [{
        "Name": g, "Priority": i,
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}},
        "OverrideAction": {"None": {}},
        "VisibilityConfig": visibility(g),
    } for i, g in enumerate(env["waf_groups"])]
    rules.append({
        "Name": "rate-limit", "Priority": 100,
        "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
        "Action": {"Block": {}},
        "VisibilityConfig": visibility("rate-limit"),
    })
    waf = client("wafv2")
    acl_arn = waf.create_web_acl(Name=prefix, Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=rules,
                                 VisibilityConfig=visibility(prefix))["Summary"]["ARN"]
    waf.associate_web_acl(WebACLArn=acl_arn, ResourceArn=alb_arn)
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl_arn,
        "LogDestinationConfigs": [f"arn:aws:logs:{region}:{account}:log-group:{waf_log_group}"]})

    # Backup: a KMS vault and daily/weekly/monthly rules.
    backup = client("backup")
    vault = prefix
    backup.create_backup_vault(BackupVaultName=vault, EncryptionKeyArn=key_arn)
    keep = env["min_retention"]
    hours = env["rpo_hours"]
    daily = "cron(0 5 ? * * *)" if hours >= 24 else f"rate({max(1, int(hours))} hours)"
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": prefix, "Rules": [
        {"RuleName": "daily", "TargetBackupVaultName": vault, "ScheduleExpression": daily,
         "Lifecycle": {"DeleteAfterDays": max(keep, 35)}},
        {"RuleName": "weekly", "TargetBackupVaultName": vault, "ScheduleExpression": "cron(0 6 ? * SUN *)",
         "Lifecycle": {"DeleteAfterDays": max(keep, 90)}},
        {"RuleName": "monthly", "TargetBackupVaultName": vault, "ScheduleExpression": "cron(0 7 1 * ? *)",
         "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": max(keep, 365)}},
    ]})["BackupPlanId"]

    # CloudTrail: its bucket (encrypted, versioned, public access blocked), a multi-region
    # trail with KMS, validation and CloudWatch Logs, logging started.
    s3 = client("s3")
    bucket = f"{prefix}-cloudtrail-{account}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ct = client("cloudtrail")
    trail = prefix
    ct.create_trail(
        Name=trail, S3BucketName=bucket, IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True, KmsKeyId=key_arn,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{region}:{account}:log-group:{trail_log_group}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{account}:role/{prefix}-cloudtrail-logs")
    ct.start_logging(Name=trail)

    # Config: recorder (all supported + global), delivery channel, started, rules.
    config = client("config")
    recorder = "default"
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": recorder, "roleARN": f"arn:aws:iam::{account}:role/{prefix}-config",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    config.start_configuration_recorder(ConfigurationRecorderName=recorder)
    for rule in env["config_rules"]:
        config.put_config_rule(ConfigRule={"ConfigRuleName": rule, "Source": {
            "Owner": "AWS", "SourceIdentifier": config_source(rule)}})

    # GuardDuty.
    gd = client("guardduty")
    detector = gd.create_detector(Enable=True, FindingPublishingFrequency=env["gd_frequency"], Features=[
        {"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"},
        {"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"}])["DetectorId"]

    # RDS PostgreSQL, encrypted, with backup retention, and a manual snapshot.
    rds = client("rds")
    for i, db in enumerate(env["rds"]):
        rds.create_db_instance(
            DBInstanceIdentifier=db, Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t3.micro",
            AllocatedStorage=20, MasterUsername="ohmc", MasterUserPassword="not-a-real-password-1",
            StorageEncrypted=True, KmsKeyId=key_arn, BackupRetentionPeriod=max(keep, 7),
            DeletionProtection=True, DBParameterGroupName="default.postgres16")
        rds.create_db_snapshot(DBInstanceIdentifier=db, DBSnapshotIdentifier=f"{db}-manual-{i + 1}")

    # ElastiCache Redis and a snapshot.
    ec = client("elasticache")
    ec.create_replication_group(
        ReplicationGroupId=env["redis"], ReplicationGroupDescription=f"{name} redis", Engine="redis",
        EngineVersion="7.1", CacheNodeType="cache.t3.micro", NumCacheClusters=2,
        AutomaticFailoverEnabled=True, MultiAZEnabled=True,
        AtRestEncryptionEnabled=True, TransitEncryptionEnabled=True, KmsKeyId=key_arn,
        CacheParameterGroupName="default.redis7", SnapshotRetentionLimit=max(keep, 1))
    ec.create_snapshot(ReplicationGroupId=env["redis"], SnapshotName=f"{env['redis']}-manual-1")

    # EKS: the cluster the platform manifests target.
    eks = client("eks")
    eks.create_cluster(
        name=prefix, roleArn=f"arn:aws:iam::{account}:role/{prefix}-eks",
        resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": False, "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]})

    def out(value, typ="string"):
        return {"sensitive": False, "type": typ, "value": value}

    return {
        "alb_arn": out(alb_arn),
        "alb_dns_name": out(alb_dns),
        "https_listener_arn": out(https),
        "hosted_zone_id": out(zone_id),
        "certificate_arn": out(cert_arn),
        "web_acl_arn": out(acl_arn),
        "backup_plan_id": out(plan_id),
        "backup_vault_name": out(vault),
        "config_recorder_name": out(recorder),
        "guardduty_detector_id": out(detector),
        "cloudtrail_name": out(trail),
        "cloudtrail_bucket_name": out(bucket),
        "rds_instance_ids": out(env["rds"], ["list", "string"]),
        "redis_replication_group_id": out(env["redis"]),
        "eks_cluster_name": out(prefix),
        "kms_key_arn": out(key_arn),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--out", required=True, help="where to write the outputs (terraform output -json shape)")
    ap.add_argument("--env-file", default=str(ROOT / "environments/staging/environment.hcl"),
                    help="environment.hcl to read (default: staging)")
    args = ap.parse_args()
    env = load_env(args.env_file)
    outputs = seed(args.endpoint, env)
    Path(args.out).write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    log(f"wrote {len(outputs)} outputs to {args.out}")


if __name__ == "__main__":
    main()
