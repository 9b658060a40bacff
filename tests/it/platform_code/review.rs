//! The defects a fresh-account review of the platform found (issue 12, "Fix
//! what the review found"), each pinned by a test on the parsed HCL so that
//! it cannot come back: the facts Terraform and AWS would only reveal during
//! an apply into a new account, or months later.

use super::model::*;
use crate::harness::{rel, repo_root};
use hcl::expr::Expression;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn module_dir(name: &str) -> PathBuf {
    repo_root().join("terraform/modules").join(name)
}

fn stack_dir(name: &str) -> PathBuf {
    repo_root().join("terraform/stacks").join(name)
}

/// The value of `name` in an environment's var files, if they set it.
fn env_value(env: &Env, name: &str) -> Option<Expression> {
    env.stacks
        .iter()
        .flat_map(|s| s.var_files.iter())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .find_map(|f| tfvars(&env.dir.join(f)).remove(name))
}

fn env_string(env: &Env, name: &str) -> String {
    env_value(env, name)
        .as_ref()
        .and_then(string_value)
        .unwrap_or_else(|| panic!("{}: terraform.tfvars sets no string {name}", env.name))
}

/// `{ "a" = "b", ... }` as a map of strings.
fn string_map(expr: &Expression) -> BTreeMap<String, String> {
    match expr {
        Expression::Object(object) => object
            .iter()
            .filter_map(|(k, v)| {
                let key = match k {
                    hcl::expr::ObjectKey::Identifier(i) => i.as_str().to_owned(),
                    hcl::expr::ObjectKey::Expression(e) => string_value(e)?,
                    #[allow(unreachable_patterns)]
                    _ => return None,
                };
                Some((key, string_value(v)?))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

// --- 1. Service-linked roles in key policies ---------------------------------

/// KMS refuses a key policy naming a principal that does not exist. A
/// service-linked role exists only once its service first needs it, so a key
/// policy may name one only through the Terraform resource that creates it.
#[test]
fn key_policies_name_only_service_linked_roles_terraform_creates() {
    let mut problems = Vec::new();
    for file in crate::harness::files_under(&repo_root().join("terraform"), &[".tf"]) {
        let text = std::fs::read_to_string(&file).expect("read");
        if text.contains(":role/aws-service-role/") {
            problems.push(format!(
                "{} builds a service-linked role ARN by hand; nothing guarantees the role exists in a fresh account (reference an aws_iam_service_linked_role instead)",
                rel(&file)
            ));
        }
    }
    let blocks = blocks_in(&module_dir("eks"));
    let key = find_block(&blocks, "module", &["eks_key"]).expect("module eks_key in modules/eks");
    let policy = references(attribute(&key.body, "policy_statements").expect("policy_statements"));
    let linked: Vec<&str> = policy
        .iter()
        .filter_map(|r| r.strip_prefix("aws_iam_service_linked_role."))
        .filter_map(|r| r.strip_suffix(".arn"))
        .collect();
    if linked.is_empty() {
        problems.push("modules/eks: the node-volume key policy does not name the Auto Scaling service-linked role through an aws_iam_service_linked_role".to_owned());
    }
    for name in linked {
        let role = find_block(&blocks, "resource", &["aws_iam_service_linked_role", name]);
        let service = role
            .and_then(|r| attribute(&r.body, "aws_service_name"))
            .and_then(string_value);
        if service.as_deref() != Some("autoscaling.amazonaws.com") {
            problems.push(format!("modules/eks: aws_iam_service_linked_role.{name} is not the Auto Scaling role ({service:?})"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 2. RDS engine version -----------------------------------------------------

/// With `auto_minor_version_upgrade`, RDS moves the minor in the maintenance
/// window; a configured minor then makes every plan try to downgrade, and a
/// deprecated one cannot be created at all. Only the major is configured (or
/// Terraform ignores the version).
#[test]
fn rds_engine_version_is_a_major_that_minor_upgrades_can_follow() {
    let blocks = blocks_in(&module_dir("rds"));
    let db = find_block(&blocks, "resource", &["aws_db_instance", "this"])
        .expect("aws_db_instance.this in modules/rds");
    let auto_minor = matches!(
        attribute(&db.body, "auto_minor_version_upgrade"),
        Some(Expression::Bool(true))
    );
    assert!(
        auto_minor,
        "modules/rds: auto_minor_version_upgrade is expected on (security patches)"
    );
    let ignored = db
        .body
        .blocks()
        .filter(|b| b.identifier.as_str() == "lifecycle")
        .filter_map(|b| attribute(&b.body, "ignore_changes"))
        .any(|e| references(e).contains("engine_version"));
    let version = attribute(&db.body, "engine_version").expect("engine_version");
    let mut values = Vec::new();
    match references(version)
        .iter()
        .find_map(|r| r.strip_prefix("var."))
    {
        Some(var) => {
            values.extend(variable_default(&blocks, var).and_then(string_value));
            // Every caller that passes it passes a value of the same shape.
            for stack in stack_dirs() {
                for call in module_calls_to(&stack, "rds") {
                    if let Some(expr) = attribute(&call.body, var) {
                        values.push(string_value(expr).unwrap_or_else(|| {
                            panic!("{}: module rds {var} is not a literal", rel(&stack))
                        }));
                    }
                }
            }
        }
        None => values.extend(string_value(version)),
    }
    assert!(
        !values.is_empty(),
        "modules/rds: engine_version has no value to judge"
    );
    let major = regex::Regex::new(r"^[0-9]+$").expect("regex");
    for value in &values {
        assert!(
            ignored || major.is_match(value),
            "modules/rds: engine_version {value:?} pins a minor while auto_minor_version_upgrade is on: every plan after an upgrade would downgrade it"
        );
    }
    let family = variable_default(&blocks, "parameter_group_family").and_then(string_value);
    for value in &values {
        let value_major = value.split('.').next().unwrap_or(value);
        assert_eq!(
            family.as_deref(),
            Some(format!("postgres{value_major}").as_str()),
            "modules/rds: parameter_group_family does not match engine_version {value}"
        );
    }
}

/// The `module "<name>"` blocks of a stack whose source is `modules/<module>`.
fn module_calls_to(stack: &std::path::Path, module: &str) -> Vec<hcl::Block> {
    blocks_in(stack)
        .into_iter()
        .filter(|b| {
            b.identifier.as_str() == "module"
                && attribute(&b.body, "source")
                    .and_then(string_value)
                    .is_some_and(|s| {
                        s.trim_end_matches('/')
                            .ends_with(&format!("modules/{module}"))
                    })
        })
        .collect()
}

// --- 3. DNS zones and delegation ---------------------------------------------

/// The zones the edge writes into are created by Terraform (not looked up),
/// in a dns stack every environment applies before edge; a zone under
/// another environment's zone is delegated from it with an NS record written
/// through the role the parent's dns stack creates for exactly that.
#[test]
fn dns_stack_creates_the_zones_and_delegation_edge_depends_on() {
    let mut problems = Vec::new();
    // Nothing looks up the environment's own zone: it would fail in a fresh account.
    for dir in all_config_dirs() {
        for block in blocks_in(&dir) {
            if block.identifier.as_str() == "data" && label(&block, 0) == "aws_route53_zone" {
                let name = attribute(&block.body, "name")
                    .map(references)
                    .unwrap_or_default();
                if !name.contains("var.parent_zone_name") {
                    problems.push(format!(
                        "{}: data aws_route53_zone.{} looks up a zone instead of creating it",
                        rel(&dir),
                        label(&block, 1)
                    ));
                }
            }
        }
    }
    let dns = blocks_in(&module_dir("dns"));
    let zone = resources_of(&dns, "aws_route53_zone");
    let zone_name = zone
        .first()
        .and_then(|z| attribute(&z.body, "name"))
        .map(references)
        .unwrap_or_default();
    if zone.len() != 1 || !zone_name.contains("var.zone_name") {
        problems.push("modules/dns creates no aws_route53_zone named var.zone_name".to_owned());
    }
    let ns = resources_of(&dns, "aws_route53_record")
        .into_iter()
        .find(|r| attribute(&r.body, "type").and_then(string_value).as_deref() == Some("NS"));
    match ns {
        None => problems.push("modules/dns writes no NS delegation record".to_owned()),
        Some(ns) => {
            let records = attribute(&ns.body, "records")
                .map(references)
                .unwrap_or_default();
            let provider = attribute(&ns.body, "provider")
                .map(references)
                .unwrap_or_default();
            if !records.iter().any(|r| r.ends_with(".name_servers"))
                || !provider.contains("aws.parent")
            {
                problems.push(format!("modules/dns: the NS record must hold the zone's name_servers and go into the parent zone's account (provider aws.parent): records {records:?}, provider {provider:?}"));
            }
        }
    }
    let role_name = resources_of(&dns, "aws_iam_role")
        .first()
        .and_then(|r| attribute(&r.body, "name"))
        .and_then(string_value);
    if role_name.as_deref() != Some("${var.name}-dns-delegation") {
        problems.push(format!("modules/dns: the delegation role is named {role_name:?}, expected ${{var.name}}-dns-delegation"));
    }
    let dns_stack = blocks_in(&stack_dir("dns"));
    let call = find_block(&dns_stack, "module", &["dns"]);
    let passes = |input: &str| {
        call.and_then(|c| attribute(&c.body, input))
            .map(references)
            .unwrap_or_default()
    };
    if !passes("name").contains("local.name") || !passes("zone_name").contains("var.zone_name") {
        problems.push("terraform/stacks/dns: module dns must get name = local.name and zone_name = var.zone_name".to_owned());
    }

    let envs = environments();
    let zones: BTreeMap<String, &Env> = envs
        .iter()
        .map(|env| (env_string(env, "zone_name"), env))
        .collect();
    for env in &envs {
        let names: Vec<&str> = env.stacks.iter().map(|s| s.name.as_str()).collect();
        let position = |n: &str| names.iter().position(|s| *s == n);
        match (position("dns"), position("edge")) {
            (Some(d), Some(e)) if d < e => {}
            _ => problems.push(format!(
                "{}: environment.hcl must list stack dns before edge: {names:?}",
                env.name
            )),
        }
        if !dependency_closure(env, "edge").contains("dns") {
            problems.push(format!("{}: stack edge does not depend on dns", env.name));
        }
        let edge = env
            .stacks
            .iter()
            .find(|s| s.name == "edge")
            .expect("edge stack");
        if !edge
            .config
            .remote_state_keys
            .values()
            .any(|k| k == "${var.environment}/dns.tfstate")
        {
            problems.push(format!(
                "{}: edge does not take the zone from the dns stack's state",
                env.name
            ));
        }
        let zone = env_string(env, "zone_name");
        for domain in env_value(env, "domain_names")
            .as_ref()
            .map(string_list)
            .unwrap_or_default()
        {
            if domain != zone && !domain.ends_with(&format!(".{zone}")) {
                problems.push(format!("{}: {domain} is not in the zone {zone}", env.name));
            }
        }
        // A zone under another environment's zone is delegated from it.
        let parent = zones
            .keys()
            .find(|other| zone.ends_with(&format!(".{other}")));
        let configured = env_value(env, "dns_parent_zone");
        match (parent, configured.as_ref()) {
            (None, None) => {}
            (None, Some(_)) => problems.push(format!(
                "{}: dns_parent_zone is set but {zone} is under no other environment's zone",
                env.name
            )),
            (Some(parent), None) => problems.push(format!(
                "{}: {zone} is under {parent} but dns_parent_zone does not delegate it",
                env.name
            )),
            (Some(parent), Some(configured)) => {
                let parent_env = zones[parent];
                let parent_account = env_string(parent_env, "account_id");
                let expected_role = format!(
                    "arn:aws:iam::{parent_account}:role/ohmc-{}-dns-delegation",
                    parent_env.name
                );
                if object_string(configured, "name").as_deref() != Some(parent.as_str())
                    || object_string(configured, "delegation_role_arn").as_deref()
                        != Some(expected_role.as_str())
                {
                    problems.push(format!(
                        "{}: dns_parent_zone must name {parent} and {expected_role}",
                        env.name
                    ));
                }
                let delegated = env_value(parent_env, "dns_delegated_subdomains")
                    .as_ref()
                    .map(string_map)
                    .unwrap_or_default();
                let account = env_string(env, "account_id");
                if delegated.get(&zone) != Some(&account) {
                    problems.push(format!("{}: dns_delegated_subdomains does not let account {account} delegate {zone}: {delegated:?}", parent_env.name));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- 4. EKS version support --------------------------------------------------

/// Every Kubernetes version configured anywhere is in EKS standard support on
/// the day the tests run, per the committed calendar; the upgrade procedure
/// that keeps it so is in the runbook.
#[test]
fn eks_version_is_in_standard_support_today() {
    let calendar_path = module_dir("eks").join("support-calendar.json");
    let calendar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&calendar_path)
            .expect("terraform/modules/eks/support-calendar.json"),
    )
    .expect("calendar JSON");
    let today = chrono::Utc::now().date_naive();
    let mut configured: Vec<(String, String)> = Vec::new();
    for (dir, where_) in [
        (module_dir("eks"), "modules/eks default"),
        (stack_dir("platform"), "stacks/platform default"),
    ] {
        let value = variable_default(&blocks_in(&dir), "kubernetes_version")
            .and_then(string_value)
            .unwrap_or_else(|| panic!("{where_}: kubernetes_version has no default"));
        configured.push((where_.to_owned(), value));
    }
    for env in environments() {
        configured.push((
            format!("environments/{}/terraform.tfvars", env.name),
            env_string(&env, "kubernetes_version"),
        ));
    }
    let mut problems = Vec::new();
    for (where_, version) in &configured {
        let entry = &calendar["versions"][version.as_str()];
        let Some(end) = entry["end_of_standard_support"].as_str() else {
            problems.push(format!(
                "{where_}: Kubernetes {version} is not in {}",
                rel(&calendar_path)
            ));
            continue;
        };
        let end = chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap_or_else(|e| {
            panic!(
                "{}: {version} end_of_standard_support {end}: {e}",
                rel(&calendar_path)
            )
        });
        if end <= today {
            problems.push(format!(
                "{where_}: Kubernetes {version} left EKS standard support on {end} (today is {today}): upgrade (runbooks/PRODUCTION_RUNBOOK.md)"
            ));
        }
    }
    // The calendar is data, checked for shape: 14 months of standard support,
    // 12 more of extended, for every minor listed.
    let versions = calendar["versions"].as_object().expect("versions");
    assert!(versions.len() >= 3, "the calendar lists too few versions");
    for (version, entry) in versions {
        let date = |key: &str| {
            chrono::NaiveDate::parse_from_str(entry[key].as_str().unwrap_or_default(), "%Y-%m-%d")
                .unwrap_or_else(|e| panic!("{version} {key}: {e}"))
        };
        let (release, standard, extended) = (
            date("eks_release"),
            date("end_of_standard_support"),
            date("end_of_extended_support"),
        );
        let months = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
            (to.signed_duration_since(from).num_days() as f64 / 30.44).round() as i64
        };
        if months(release, standard) != 14 || months(standard, extended) != 12 {
            problems.push(format!("calendar {version}: release {release}, standard until {standard}, extended until {extended} is not 14 + 12 months"));
        }
    }
    let runbook = std::fs::read_to_string(repo_root().join("runbooks/PRODUCTION_RUNBOOK.md"))
        .expect("runbooks/PRODUCTION_RUNBOOK.md");
    let section = runbook
        .split("## Kubernetes version upgrade")
        .nth(1)
        .map(|s| s.split("\n## ").next().unwrap_or(s))
        .unwrap_or_default();
    for needed in [
        "support-calendar.json",
        "one minor at a time",
        "describe-addon-versions",
    ] {
        if !section.to_lowercase().contains(needed) {
            problems.push(format!("runbooks/PRODUCTION_RUNBOOK.md: the Kubernetes version upgrade section does not cover {needed:?}"));
        }
    }
    // Node groups follow the control plane's version when it is raised.
    let eks = blocks_in(&module_dir("eks"));
    let nodes = find_block(&eks, "resource", &["aws_eks_node_group", "this"]).expect("node group");
    if !attribute(&nodes.body, "version")
        .map(references)
        .unwrap_or_default()
        .contains("aws_eks_cluster.this.version")
    {
        problems
            .push("modules/eks: the node groups do not follow the cluster's version".to_owned());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

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
    let runbook = std::fs::read_to_string(repo_root().join("runbooks/DISASTER_RECOVERY.md"))
        .expect("runbooks/DISASTER_RECOVERY.md");
    let section = runbook
        .split("## Vault Lock")
        .nth(1)
        .map(|s| s.split("\n## ").next().unwrap_or(s))
        .unwrap_or_default();
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

// --- 11. Node groups after the VPC CNI ----------------------------------------

/// Nodes that join before the VPC CNI add-on run the default CNI on the node
/// role, without the IRSA role and NetworkPolicy enforcement.
#[test]
fn node_groups_join_after_the_vpc_cni_addon() {
    let blocks = blocks_in(&module_dir("eks"));
    let cni: Vec<String> = resources_of(&blocks, "aws_eks_addon")
        .into_iter()
        .filter(|a| {
            attribute(&a.body, "addon_name")
                .and_then(string_value)
                .as_deref()
                == Some("vpc-cni")
        })
        .map(|a| format!("aws_eks_addon.{}", label(a, 1)))
        .collect();
    assert_eq!(
        cni.len(),
        1,
        "modules/eks: expected one vpc-cni add-on, found {cni:?}"
    );
    for group in resources_of(&blocks, "aws_eks_node_group") {
        let deps = depends_on(group);
        assert!(
            deps.contains(&cni[0]),
            "modules/eks: aws_eks_node_group.{} does not depend on {} (depends_on {deps:?})",
            label(group, 1),
            cni[0]
        );
    }
}

// --- Shared helpers of the tests below ---------------------------------------

/// Nested blocks `name { ... }` of a body.
fn nested<'a>(body: &'a hcl::Body, name: &str) -> Vec<&'a hcl::Block> {
    body.blocks()
        .filter(|b| b.identifier.as_str() == name)
        .collect()
}

/// Every string literal inside an expression (arrays and objects walked).
fn string_literals(expr: &Expression, out: &mut Vec<String>) {
    match expr {
        Expression::Array(items) => items.iter().for_each(|e| string_literals(e, out)),
        Expression::Object(object) => object.iter().for_each(|(_, v)| string_literals(v, out)),
        Expression::FuncCall(call) => call.args.iter().for_each(|e| string_literals(e, out)),
        other => out.extend(string_value(other)),
    }
}

fn env_bool(env: &Env, name: &str) -> Option<bool> {
    match env_value(env, name) {
        Some(Expression::Bool(b)) => Some(b),
        _ => None,
    }
}

fn runbook_section(file: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("runbooks").join(file))
        .unwrap_or_else(|e| panic!("runbooks/{file}: {e}"));
    text.split(heading)
        .nth(1)
        .map(|s| s.split("\n## ").next().unwrap_or(s).to_owned())
        .unwrap_or_default()
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

// --- 6. A path to a private API ------------------------------------------------

/// An environment whose EKS endpoint is private-only has a way in that the
/// repository creates: an SSM bastion the cluster admits on 443, and an
/// admin role with a cluster-admin access entry that someone may assume.
#[test]
fn private_eks_api_is_reachable_through_the_ssm_bastion() {
    let mut problems = Vec::new();
    let platform = blocks_in(&stack_dir("platform"));
    let bastion = module_calls_to(&stack_dir("platform"), "ssm-bastion");
    let admits = bastion
        .first()
        .and_then(|b| attribute(&b.body, "api_security_group_ids"))
        .map(references)
        .unwrap_or_default();
    if !admits.contains("module.eks.cluster_security_group_id") {
        problems.push(
            "terraform/stacks/platform: no SSM bastion admitted by the cluster security group"
                .to_owned(),
        );
    }
    let admins = find_block(&platform, "module", &["eks"])
        .and_then(|m| attribute(&m.body, "cluster_admin_role_arns"))
        .map(references)
        .unwrap_or_default();
    if !admins.contains("aws_iam_role.eks_admin") {
        problems.push(
            "terraform/stacks/platform: the eks-admin role has no cluster-admin access entry"
                .to_owned(),
        );
    }
    let module = blocks_in(&module_dir("ssm-bastion"));
    let instance =
        find_block(&module, "resource", &["aws_instance", "this"]).expect("bastion instance");
    if !matches!(
        attribute(&instance.body, "associate_public_ip_address"),
        Some(Expression::Bool(false))
    ) || attribute(&instance.body, "key_name").is_some()
    {
        problems
            .push("modules/ssm-bastion: the bastion has a public address or an SSH key".to_owned());
    }
    for rule in resources_of(&module, "aws_vpc_security_group_ingress_rule") {
        if attribute(&rule.body, "security_group_id")
            .map(references)
            .unwrap_or_default()
            .contains("aws_security_group.this.id")
        {
            problems.push(
                "modules/ssm-bastion: the bastion's own security group admits inbound traffic"
                    .to_owned(),
            );
        }
    }
    for env in environments() {
        if env_bool(&env, "eks_endpoint_public_access") == Some(false) {
            let trusted = env_value(&env, "eks_admin_trusted_principal_arns")
                .as_ref()
                .map(string_list)
                .unwrap_or_default();
            let roles = env_value(&env, "eks_admin_role_arns")
                .as_ref()
                .map(string_list)
                .unwrap_or_default();
            if trusted.is_empty() && roles.is_empty() {
                problems.push(format!(
                    "{}: the EKS endpoint is private and nobody may assume a cluster-admin role",
                    env.name
                ));
            }
        }
    }
    let access = runbook_section("PRODUCTION_RUNBOOK.md", "## Access");
    if !access.contains("AWS-StartPortForwardingSessionToRemoteHost")
        || !access.contains("eks-admin")
    {
        problems.push(
            "runbooks/PRODUCTION_RUNBOOK.md: Access does not show the way through the SSM bastion"
                .to_owned(),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
