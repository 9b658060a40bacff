//! The in-cluster audits reach what they audit: for every Job or CronJob
//! that runs `ohmc-infra audit`, each account it audits has the role it
//! assumes there (an environment's `aws.role_arn`, or `--role-name` in every
//! account for the organisation audit), that role trusts the pod's IRSA role,
//! the IRSA role may assume it (and list the organisation's accounts when it
//! discovers them), and the stack outputs it reads are in the ConfigMap
//! deploy.sh makes.

use serde_yaml::Value;

use super::checks::service_accounts;
use super::model::{allows, glob, EnvModel, Platform};
use super::tf::V;

/// Whether a role's trust policy lets `principal` (a role ARN) assume it:
/// the role itself or its account's root as AWS principal, and any
/// aws:PrincipalArn condition naming it.
fn trusts_role(trust: &V, principal: &str) -> bool {
    let account = principal.split(':').nth(4).unwrap_or("");
    let root = format!("arn:aws:iam::{account}:root");
    trust.get("Statement").items().iter().any(|s| {
        s.get("Effect").str().unwrap_or("Allow") == "Allow"
            && s.get("Action")
                .strings()
                .iter()
                .any(|a| a == "sts:AssumeRole")
            && s.get("Principal")
                .get("AWS")
                .strings()
                .iter()
                .any(|p| p == principal || *p == root)
            && ["ArnEquals", "ArnLike", "StringEquals", "StringLike"]
                .iter()
                .all(|test| match s.get("Condition").get(test) {
                    V::Map(m) => m
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case("aws:PrincipalArn"))
                        .all(|(_, v)| v.strings().iter().any(|p| glob(p, principal, false))),
                    _ => true,
                })
    })
}

/// What one audit container is asked to audit.
struct AuditArgs {
    envs: Vec<String>,
    role_name: Option<String>,
    discover: bool,
    accounts: Vec<String>,
    outputs: Option<String>,
}

fn audit_args(args: &[&str]) -> Option<AuditArgs> {
    if args.first() != Some(&"audit") || args.get(1) == Some(&"merge") {
        return None;
    }
    let mut a = AuditArgs {
        envs: Vec::new(),
        role_name: None,
        discover: false,
        accounts: Vec::new(),
        outputs: None,
    };
    let mut i = 1;
    let mut positional = true;
    while i < args.len() {
        let w = args[i];
        let next = args.get(i + 1).map(|s| s.to_string());
        match w {
            "--discover-accounts" => a.discover = true,
            "--role-name" => {
                a.role_name = next;
                i += 1;
            }
            "--account" => {
                a.accounts.extend(next);
                i += 1;
            }
            "--outputs" => {
                a.outputs = next;
                i += 1;
            }
            w if w.starts_with("--") => {
                positional = false;
                // Every other flag of `audit` takes a value except these.
                if !matches!(w, "--discover-accounts") {
                    i += 1;
                }
            }
            w if positional => a.envs.push(w.to_owned()),
            _ => {}
        }
        i += 1;
    }
    Some(a)
}

/// The environments whose outputs deploy.sh writes into the audit's
/// ConfigMap when it deploys to `env`: `--from-file=NAME.json=...` entries.
fn configmap_outputs(p: &Platform, env: &EnvModel) -> Vec<String> {
    let re = regex::Regex::new(r#"--from-file="?([^=" ]+)\.json="#).unwrap();
    re.captures_iter(&p.deploy_sh)
        .map(|c| c[1].replace("$ENVIRONMENT", &env.name))
        .collect()
}

pub(crate) fn check_audit_reach(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        let bound = service_accounts(env);
        for m in &env.manifests {
            let spec = match m.kind() {
                "CronJob" => &m.doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                "Job" => &m.doc["spec"]["template"]["spec"],
                _ => continue,
            };
            for c in spec["containers"].as_sequence().into_iter().flatten() {
                let args: Vec<&str> = c["args"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let Some(a) = audit_args(&args) else { continue };
                let at = format!("{}: {} {}/{}", env.name, m.kind(), m.namespace(), m.name());
                let sa = spec["serviceAccountName"].as_str().unwrap_or("default");
                let Some(irsa) = bound
                    .iter()
                    .find(|b| b.namespace == m.namespace() && b.name == sa)
                    .and_then(|b| env.role(&b.role_arn))
                else {
                    problems.push(format!("{at}: service account {sa} has no Terraform role"));
                    continue;
                };
                let irsa_arn = irsa.attrs.get("arn").str().unwrap_or("").to_owned();
                let statements = env.role_statements(&irsa);
                // (environment audited, role assumed there)
                let mut targets: Vec<(&EnvModel, String)> = Vec::new();
                let by_account = !a.accounts.is_empty() || a.discover;
                if by_account {
                    let Some(name) = &a.role_name else {
                        problems.push(format!("{at}: audits accounts without --role-name"));
                        continue;
                    };
                    if a.discover && !allows(&statements, "organizations:ListAccounts", "*") {
                        problems.push(format!(
                            "{at}: discovers accounts but its role {} may not organizations:ListAccounts",
                            irsa.attrs.get("name").str().unwrap_or("?")
                        ));
                    }
                    // Every account the platform owns is in the organisation.
                    for e in &p.envs {
                        targets.push((e, format!("arn:aws:iam::{}:role/{name}", e.account_id)));
                    }
                }
                let envs: Vec<&EnvModel> = if !a.envs.is_empty() {
                    a.envs.iter().filter_map(|n| p.env(n)).collect()
                } else if by_account {
                    Vec::new()
                } else {
                    p.envs.iter().collect()
                };
                for e in envs {
                    match &e.role_arn {
                        Some(r) => targets.push((e, r.clone())),
                        None => problems.push(format!("{at}: {} has no aws.role_arn", e.name)),
                    }
                    if a.outputs
                        .as_deref()
                        .is_some_and(|o| o.contains("{environment}"))
                        && !configmap_outputs(p, env).contains(&e.name)
                    {
                        problems.push(format!(
                            "{at}: audits {} but deploy.sh puts only {:?} outputs in its ConfigMap",
                            e.name,
                            configmap_outputs(p, env)
                        ));
                    }
                }
                for (e, role) in targets {
                    if !allows(&statements, "sts:AssumeRole", &role) {
                        problems.push(format!(
                            "{at}: its role {irsa_arn} may not assume {role} (auditing {})",
                            e.name
                        ));
                    }
                    match e.role(&role) {
                        None => problems.push(format!(
                            "{at}: {role} is not created by Terraform in {}",
                            e.name
                        )),
                        Some(r) if !trusts_role(r.attrs.get("assume_role_policy"), &irsa_arn) => {
                            problems.push(format!(
                                "{at}: {role} in {} does not trust {irsa_arn}",
                                e.name
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}
