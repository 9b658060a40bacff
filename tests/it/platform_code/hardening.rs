//! The security and recovery gaps of a fresh-account review (issue 12, "Fix
//! what the review found"), each pinned by a test on the parsed HCL: Vault
//! Lock before a proven restore, CloudTrail without data events or CIS
//! alarms, a Redis token that never rotates, GuardDuty blind at runtime and
//! e-mail only, and nothing but the databases in the DR region.

use super::model::*;
use hcl::expr::Expression;
use std::collections::{BTreeMap, BTreeSet};

// --- 10. Backup Vault Lock ---------------------------------------------------

/// Vault Lock in compliance mode cannot be undone: the vaults start in
/// governance mode and switch only for an environment whose first successful
/// dr-drill is on record. The lock's retention bounds are the plan's own.
#[test]
fn backup_vault_lock_starts_in_governance_with_the_plans_retention() {
    let blocks = blocks_in(&module_dir("backup"));
    let locks = resources_of(&blocks, "aws_backup_vault_lock_configuration");
    assert!(
        locks.len() >= 2,
        "modules/backup: expected the primary and DR vault locks"
    );
    let mut problems = Vec::new();
    for lock in &locks {
        let name = label(lock, 1);
        // changeable_for_days set = compliance mode: only when asked for.
        let mut changeable =
            attribute(&lock.body, "changeable_for_days").expect("changeable_for_days");
        for reference in references(changeable) {
            if let Some(local) = reference.strip_prefix("local.") {
                changeable = local_value(&blocks, local).unwrap_or(changeable);
            }
        }
        let governed = match changeable {
            Expression::Conditional(c) => {
                references(&c.cond_expr).contains("var.vault_lock_mode")
                    && matches!(c.false_expr, Expression::Null)
            }
            Expression::Null => true,
            _ => false,
        };
        if !governed {
            problems.push(format!("modules/backup: lock {name} sets changeable_for_days (compliance mode) regardless of vault_lock_mode"));
        }
        let default_mode = variable_default(&blocks, "vault_lock_mode").and_then(string_value);
        if default_mode.as_deref() != Some("governance") {
            problems.push(format!(
                "modules/backup: vault_lock_mode defaults to {default_mode:?}"
            ));
        }
        for bound in ["min_retention_days", "max_retention_days"] {
            let expr = attribute(&lock.body, bound).expect(bound);
            let refs = references(expr);
            let from_plan = refs.contains("local.primary_retention_days")
                || refs.contains("var.dr_retention_days");
            if !from_plan || refs.iter().any(|r| r.starts_with("var.vault_lock")) {
                problems.push(format!(
                    "modules/backup: lock {name} {bound} is not the plan's retention: {refs:?}"
                ));
            }
        }
    }
    let primary = local_value(&blocks, "primary_retention_days")
        .map(references)
        .unwrap_or_default();
    if !primary.contains("local.rules") {
        problems.push(
            "modules/backup: primary_retention_days is not derived from the rules".to_owned(),
        );
    }
    let section = runbook_section("DISASTER_RECOVERY.md", "## Vault Lock");
    if !section.contains("backup_vault_lock_mode = \"compliance\"") {
        problems.push(
            "runbooks/DISASTER_RECOVERY.md documents no switch to compliance after the first drill"
                .to_owned(),
        );
    }
    let drill_id = regex::Regex::new(r"drill-[a-z]+-[0-9]{14}-[0-9a-f]{4}").expect("regex");
    for env in environments() {
        let mode = env_value(&env, "backup_vault_lock_mode")
            .as_ref()
            .and_then(string_value)
            .unwrap_or_else(|| "governance".to_owned());
        if mode == "compliance" {
            let proven = section
                .lines()
                .any(|l| l.starts_with(&format!("| {} |", env.name)) && drill_id.is_match(l));
            if !proven {
                problems.push(format!("{}: Vault Lock in compliance mode without a successful dr-drill recorded in runbooks/DISASTER_RECOVERY.md", env.name));
            }
        } else if mode != "governance" {
            problems.push(format!("{}: backup_vault_lock_mode {mode:?}", env.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 9. CloudTrail data events, CIS alarms, Object Lock ----------------------

/// "All API calls": management events plus S3 object and Lambda data events;
/// the CIS section-4 alarms reach the findings topic; production's audit
/// bucket is write-once.
#[test]
fn cloudtrail_data_events_cis_alarms_and_audit_object_lock() {
    let blocks = blocks_in(&module_dir("security-baseline"));
    let mut problems = Vec::new();
    let trail =
        find_block(&blocks, "resource", &["aws_cloudtrail", "this"]).expect("aws_cloudtrail.this");
    if !nested(&trail.body, "event_selector").is_empty() {
        problems.push("aws_cloudtrail.this still uses basic event_selector blocks".to_owned());
    }
    let selectors: Vec<BTreeMap<String, Vec<String>>> =
        nested(&trail.body, "advanced_event_selector")
            .into_iter()
            .map(|s| {
                nested(&s.body, "field_selector")
                    .into_iter()
                    .filter_map(|f| {
                        let field = attribute(&f.body, "field").and_then(string_value)?;
                        Some((
                            field,
                            attribute(&f.body, "equals")
                                .map(string_list)
                                .unwrap_or_default(),
                        ))
                    })
                    .collect()
            })
            .collect();
    let has = |category: &str, resource: Option<&str>| {
        selectors.iter().any(|s| {
            s.get("eventCategory")
                .is_some_and(|v| v == &[category.to_owned()])
                && resource.is_none_or(|r| {
                    s.get("resources.type")
                        .is_some_and(|v| v.iter().any(|t| t == r))
                })
                && !s.contains_key("readOnly")
        })
    };
    for (category, resource) in [
        ("Management", None),
        ("Data", Some("AWS::S3::Object")),
        ("Data", Some("AWS::Lambda::Function")),
    ] {
        if !has(category, resource) {
            problems.push(format!(
                "aws_cloudtrail.this records no {category} events{}",
                resource.map(|r| format!(" of {r}")).unwrap_or_default()
            ));
        }
    }

    let filters = local_value(&blocks, "cis_metric_filters");
    let ids: BTreeSet<String> = match filters {
        Some(Expression::Object(o)) => o
            .iter()
            .filter_map(|(k, _)| match k {
                hcl::expr::ObjectKey::Expression(e) => string_value(e),
                hcl::expr::ObjectKey::Identifier(i) => Some(i.as_str().to_owned()),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .filter_map(|k| k.split('-').next().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    };
    let expected: BTreeSet<String> = (1..=15).map(|n| format!("4.{n}")).collect();
    if ids != expected {
        problems.push(format!(
            "security-baseline: CIS metric filters {ids:?}, expected the benchmark's {expected:?}"
        ));
    }
    let filter = find_block(
        &blocks,
        "resource",
        &["aws_cloudwatch_log_metric_filter", "cis"],
    );
    let filter_refs: BTreeSet<String> = filter
        .map(|f| {
            f.body
                .attributes()
                .flat_map(|a| references(&a.expr))
                .collect()
        })
        .unwrap_or_default();
    if !filter_refs.contains("local.cis_metric_filters")
        || !filter_refs.contains("aws_cloudwatch_log_group.cloudtrail.name")
    {
        problems.push("security-baseline: the CIS metric filters are not one per control on the trail's log group".to_owned());
    }
    let alarm = find_block(&blocks, "resource", &["aws_cloudwatch_metric_alarm", "cis"]);
    let actions = alarm
        .and_then(|a| attribute(&a.body, "alarm_actions"))
        .map(references)
        .unwrap_or_default();
    let alarm_keys = alarm
        .and_then(|a| attribute(&a.body, "for_each"))
        .map(references)
        .unwrap_or_default();
    if !actions.contains("aws_sns_topic.security_findings.arn")
        || !alarm_keys.contains("local.cis_metric_filters")
    {
        problems.push(format!(
            "security-baseline: the CIS alarms do not each notify the findings topic ({actions:?})"
        ));
    }
    // CloudWatch may publish to the topic and use its key.
    let topic_policy = find_block(
        &blocks,
        "data",
        &["aws_iam_policy_document", "security_findings_topic"],
    )
    .expect("topic policy");
    let cloudwatch_publishes = nested(&topic_policy.body, "statement").iter().any(|s| {
        nested(&s.body, "principals").iter().any(|p| {
            attribute(&p.body, "identifiers")
                .map(string_list)
                .unwrap_or_default()
                .contains(&"cloudwatch.amazonaws.com".to_owned())
        })
    });
    let key = find_block(&blocks, "module", &["security_key"]).expect("module security_key");
    let mut key_strings = Vec::new();
    string_literals(
        attribute(&key.body, "policy_statements").expect("policy_statements"),
        &mut key_strings,
    );
    if !cloudwatch_publishes || !key_strings.iter().any(|s| s == "cloudwatch.amazonaws.com") {
        problems.push("security-baseline: CloudWatch alarms cannot publish to the KMS-encrypted findings topic (topic policy and key policy must admit cloudwatch.amazonaws.com)".to_owned());
    }

    let bucket =
        find_block(&blocks, "resource", &["aws_s3_bucket", "audit"]).expect("audit bucket");
    let enabled = attribute(&bucket.body, "object_lock_enabled")
        .map(references)
        .unwrap_or_default();
    let lock = resources_of(&blocks, "aws_s3_bucket_object_lock_configuration");
    let mode = lock
        .first()
        .and_then(|l| nested(&l.body, "rule").first().copied())
        .and_then(|r| nested(&r.body, "default_retention").first().copied())
        .and_then(|d| attribute(&d.body, "mode"))
        .map(references)
        .unwrap_or_default();
    if !enabled.contains("var.audit_object_lock_mode")
        || !mode.contains("var.audit_object_lock_mode")
    {
        problems.push("security-baseline: the audit bucket has no Object Lock driven by audit_object_lock_mode".to_owned());
    }
    for env in environments() {
        let protected = env
            .body
            .blocks()
            .find(|b| b.identifier.as_str() == "protection")
            .and_then(|p| attribute(&p.body, "require_approval"))
            .is_some_and(|e| matches!(e, Expression::Bool(true)));
        if protected {
            let mode = env_value(&env, "audit_object_lock_mode")
                .as_ref()
                .and_then(string_value);
            if mode.as_deref() != Some("COMPLIANCE") {
                problems.push(format!(
                    "{}: the audit bucket's Object Lock is {mode:?}, expected COMPLIANCE",
                    env.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 12. Redis AUTH token rotation -----------------------------------------------

/// The token rotates on a date kept in the environment, in two applies
/// (ROTATE, then SET); in the steady state old tokens are not valid.
#[test]
fn redis_auth_token_rotates_and_old_tokens_stop_working() {
    let blocks = blocks_in(&module_dir("redis"));
    let mut problems = Vec::new();
    let password = find_block(&blocks, "resource", &["random_password", "auth_token"])
        .expect("random_password.auth_token");
    let keepers = attribute(&password.body, "keepers")
        .map(references)
        .unwrap_or_default();
    if !keepers.contains("var.auth_rotated_on") {
        problems.push(format!(
            "modules/redis: nothing ever issues a new AUTH token (keepers {keepers:?})"
        ));
    }
    let group = find_block(
        &blocks,
        "resource",
        &["aws_elasticache_replication_group", "this"],
    )
    .expect("replication group");
    let strategy =
        attribute(&group.body, "auth_token_update_strategy").expect("auth_token_update_strategy");
    let steady_is_set = match strategy {
        Expression::Conditional(c) => {
            references(&c.cond_expr).contains("var.auth_keep_previous")
                && string_value(&c.false_expr).as_deref() == Some("SET")
                && variable_default(&blocks, "auth_keep_previous")
                    .is_some_and(|d| matches!(d, Expression::Bool(false)))
        }
        other => string_value(other).as_deref() == Some("SET"),
    };
    if !steady_is_set {
        problems.push("modules/redis: outside a rotation the strategy must be SET, so that old tokens stop working".to_owned());
    }
    let today = chrono::Utc::now().date_naive();
    for env in environments() {
        let issued = env_string(&env, "redis_auth_rotated_on");
        let issued = chrono::NaiveDate::parse_from_str(&issued, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{}: redis_auth_rotated_on {issued}: {e}", env.name));
        let age = today.signed_duration_since(issued).num_days();
        if !(0..=90).contains(&age) {
            problems.push(format!("{}: the Redis AUTH token was issued {issued} ({age} days ago): rotate it (runbooks/PRODUCTION_RUNBOOK.md)", env.name));
        }
        if env_bool(&env, "redis_auth_keep_previous") == Some(true) && age > 7 {
            problems.push(format!(
                "{}: a Redis token rotation started {issued} still keeps the previous token valid",
                env.name
            ));
        }
    }
    let section = runbook_section("PRODUCTION_RUNBOOK.md", "## Redis AUTH token rotation");
    for needed in [
        "redis_auth_rotated_on",
        "redis_auth_keep_previous = true",
        "redis_auth_keep_previous = false",
    ] {
        if !section.contains(needed) {
            problems.push(format!("runbooks/PRODUCTION_RUNBOOK.md: the Redis AUTH token rotation does not cover {needed:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 13. GuardDuty Runtime Monitoring and alerts beyond e-mail --------------------

#[test]
fn guardduty_watches_eks_at_runtime_and_findings_reach_slack() {
    let blocks = blocks_in(&module_dir("security-baseline"));
    let mut problems = Vec::new();
    let runtime = resources_of(&blocks, "aws_guardduty_detector_feature")
        .into_iter()
        .any(|f| {
            attribute(&f.body, "name").and_then(string_value).as_deref()
                == Some("RUNTIME_MONITORING")
                && attribute(&f.body, "status")
                    .and_then(string_value)
                    .as_deref()
                    == Some("ENABLED")
                && nested(&f.body, "additional_configuration").iter().any(|c| {
                    attribute(&c.body, "name").and_then(string_value).as_deref()
                        == Some("EKS_ADDON_MANAGEMENT")
                        && attribute(&c.body, "status")
                            .and_then(string_value)
                            .as_deref()
                            == Some("ENABLED")
                })
        });
    if !runtime {
        problems.push(
            "security-baseline: no GuardDuty Runtime Monitoring with the managed EKS agent"
                .to_owned(),
        );
    }
    let slack = resources_of(&blocks, "aws_chatbot_slack_channel_configuration");
    let to_topic = slack.iter().any(|s| {
        attribute(&s.body, "sns_topic_arns")
            .map(references)
            .unwrap_or_default()
            .contains("aws_sns_topic.security_findings.arn")
    });
    if !to_topic {
        problems
            .push("security-baseline: the findings topic reaches nothing but e-mail".to_owned());
    }
    let routed = find_block(
        &blocks,
        "resource",
        &["aws_cloudwatch_event_target", "guardduty_findings"],
    )
    .and_then(|t| attribute(&t.body, "arn"))
    .map(references)
    .unwrap_or_default();
    if !routed.contains("aws_sns_topic.security_findings.arn") {
        problems.push(
            "security-baseline: GuardDuty findings are not routed to the findings topic".to_owned(),
        );
    }
    for env in environments() {
        let channel = env_value(&env, "security_alert_slack_channel");
        let ids = channel.as_ref().map(|c| {
            (
                object_string(c, "workspace_id"),
                object_string(c, "channel_id"),
            )
        });
        if !matches!(ids, Some((Some(_), Some(_)))) {
            problems.push(format!(
                "{}: security_alert_slack_channel is not set: findings reach e-mail only",
                env.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 14. DR beyond the databases -----------------------------------------------

/// Where backups are copied to the DR region, so are the images, the
/// application secrets and the Terraform state; the drill's Redis buckets are
/// Terraform's, with the names environment.hcl gives the drill.
#[test]
fn dr_region_gets_images_secrets_state_and_the_drill_buckets() {
    let mut problems = Vec::new();
    let passes = |stack: &str, module: &str, input: &str| -> BTreeSet<String> {
        module_calls_to(&stack_dir(stack), module)
            .first()
            .and_then(|c| attribute(&c.body, input))
            .map(references)
            .unwrap_or_default()
    };
    let ecr = blocks_in(&module_dir("ecr"));
    let replication = resources_of(&ecr, "aws_ecr_replication_configuration");
    let region = replication
        .first()
        .and_then(|r| {
            nested(&r.body, "replication_configuration")
                .first()
                .copied()
        })
        .and_then(|c| nested(&c.body, "rule").first().copied())
        .and_then(|r| nested(&r.body, "destination").first().copied())
        .and_then(|d| attribute(&d.body, "region"))
        .map(references)
        .unwrap_or_default();
    if !region.contains("var.replication_region")
        || !passes("platform", "ecr", "replication_region").contains("var.dr_replication")
    {
        problems.push(
            "ECR images are not replicated to the DR region when dr_replication is on".to_owned(),
        );
    }
    let secrets = blocks_in(&module_dir("app-secrets"));
    let secret = find_block(
        &secrets,
        "resource",
        &["aws_secretsmanager_secret", "component"],
    )
    .expect("app secret");
    let replica = nested(&secret.body, "dynamic")
        .into_iter()
        .any(|d| label(d, 0) == "replica");
    if !replica || !passes("data", "app-secrets", "replicate_to_dr").contains("var.dr_replication")
    {
        problems.push(
            "application secrets have no replica in the DR region when dr_replication is on"
                .to_owned(),
        );
    }
    let state = blocks_in(&module_dir("state-bootstrap"));
    let state_replication = find_block(
        &state,
        "resource",
        &["aws_s3_bucket_replication_configuration", "state"],
    );
    let destination = state_replication
        .and_then(|r| nested(&r.body, "rule").first().copied())
        .and_then(|r| nested(&r.body, "destination").first().copied())
        .and_then(|d| attribute(&d.body, "bucket"))
        .map(references)
        .unwrap_or_default();
    let source = state_replication
        .and_then(|r| attribute(&r.body, "bucket"))
        .map(references)
        .unwrap_or_default();
    let replica_provider = find_block(&state, "resource", &["aws_s3_bucket", "state_replica"])
        .and_then(|b| attribute(&b.body, "provider"))
        .map(references)
        .unwrap_or_default();
    if !source.contains("aws_s3_bucket.state.id")
        || !destination.contains("aws_s3_bucket.state_replica")
        || !replica_provider.contains("aws.dr")
        || !passes("state-bootstrap", "state-bootstrap", "replica_bucket_name")
            .contains("var.dr_replication")
    {
        problems.push("the Terraform state bucket is not replicated to a bucket in the DR region when dr_replication is on".to_owned());
    }
    for env in environments() {
        if env_bool(&env, "backup_cross_region_copy") == Some(true)
            && env_bool(&env, "dr_replication") != Some(true)
        {
            problems.push(format!("{}: backups are copied to the DR region but images, secrets and state are not (dr_replication)", env.name));
        }
        let drill = env
            .body
            .blocks()
            .find(|b| b.identifier.as_str() == "drill")
            .expect("drill block");
        for role in ["export", "import"] {
            let named =
                attribute(&drill.body, &format!("redis_{role}_bucket")).and_then(string_value);
            let created = env_value(&env, &format!("drill_redis_{role}_bucket"))
                .as_ref()
                .and_then(string_value);
            if named != created {
                problems.push(format!("{}: environment.hcl drill.redis_{role}_bucket {named:?} is not the bucket the data stack creates (drill_redis_{role}_bucket {created:?})", env.name));
            }
        }
    }
    let data = blocks_in(&stack_dir("data"));
    for (role, provider) in [("export", None), ("import", Some("aws.dr"))] {
        let resource = format!("drill_redis_{role}");
        let bucket = find_block(&data, "resource", &["aws_s3_bucket", resource.as_str()]);
        let name = bucket
            .and_then(|b| attribute(&b.body, "bucket"))
            .map(references)
            .unwrap_or_default();
        let in_region = bucket
            .and_then(|b| attribute(&b.body, "provider"))
            .map(references)
            .unwrap_or_default();
        if !name.contains(&format!("var.drill_redis_{role}_bucket"))
            || provider.is_some_and(|p| !in_region.contains(p))
        {
            problems.push(format!("terraform/stacks/data: no drill Redis {role} bucket named by drill_redis_{role}_bucket{}", provider.map(|p| format!(" in {p}")).unwrap_or_default()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
