//! The defects of a fresh-account review (issue 12, "Fix what the review
//! found") that stop an apply into a new account or strand its operators,
//! each pinned by a test on the parsed HCL so that it cannot come back: key
//! policies naming roles that do not exist yet, a stale engine minor, zones
//! looked up instead of created, an EKS version out of support, node groups
//! racing the CNI, a private API nobody can reach.

use super::model::*;
use crate::harness::{rel, repo_root};
use hcl::expr::Expression;
use std::collections::BTreeMap;

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
    let section = runbook_section("PRODUCTION_RUNBOOK.md", "## Kubernetes version upgrade");
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
        .and_then(|b| attribute(&b.body, "api_security_groups"))
        .map(references)
        .unwrap_or_default();
    if !admits.contains("module.eks.cluster_security_group_id") {
        problems.push(
            "terraform/stacks/platform: no SSM bastion admitted by the cluster security group"
                .to_owned(),
        );
    }
    let admins = find_block(&platform, "module", &["eks"])
        .and_then(|m| attribute(&m.body, "cluster_admin_roles"))
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
