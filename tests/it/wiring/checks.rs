//! One check per class of cross-layer reference. Each returns the
//! references that do not resolve, named so that a reader finds both ends.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

use crate::harness::rel;

use super::deploy::{self, Manifest, Release};
use super::model::*;
use super::tf::{Instance, V};

// --- Checks ---------------------------------------------------------------------

/// The identity the External Secrets Operator runs as: the ClusterSecretStore's
/// service account, and the role that service account is annotated with.
pub(crate) fn eso_role(
    env: &EnvModel,
    store: &str,
    problems: &mut Vec<String>,
) -> Option<Instance> {
    let store_doc = env
        .manifests
        .iter()
        .find(|m| m.kind() == "ClusterSecretStore" && m.name() == store)?;
    let sa = &store_doc.doc["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"];
    let (sa_name, sa_ns) = (sa["name"].as_str()?, sa["namespace"].as_str()?);
    let arn = service_accounts(env)
        .into_iter()
        .find(|s| s.namespace == sa_ns && s.name == sa_name)
        .map(|s| s.role_arn);
    let Some(arn) = arn else {
        problems.push(format!(
            "{}: ClusterSecretStore {store} authenticates as {sa_ns}/{sa_name}, which no release or manifest annotates with a role",
            env.name
        ));
        return None;
    };
    let role = env.role(&arn);
    if role.is_none() {
        problems.push(format!(
            "{}: ClusterSecretStore {store}: role {arn} is not created by Terraform",
            env.name
        ));
    }
    role
}

pub(crate) fn check_secrets(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        let secrets = env.secret_names();
        for es in env
            .manifests
            .iter()
            .filter(|m| m.kind() == "ExternalSecret")
        {
            let at = format!(
                "{}: ExternalSecret {}/{} ({})",
                env.name,
                es.namespace(),
                es.name(),
                rel_to(p, &es.file)
            );
            let store_ref = &es.doc["spec"]["secretStoreRef"];
            let store = store_ref["name"].as_str().unwrap_or("");
            if store_ref["kind"].as_str() != Some("ClusterSecretStore") {
                problems.push(format!("{at}: store {store} is not a ClusterSecretStore"));
                continue;
            }
            let role = eso_role(env, store, &mut problems);
            let mut keys = BTreeSet::new();
            for d in es.doc["spec"]["data"].as_sequence().into_iter().flatten() {
                keys.extend(d["remoteRef"]["key"].as_str().map(String::from));
            }
            for d in es.doc["spec"]["dataFrom"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                keys.extend(d["extract"]["key"].as_str().map(String::from));
            }
            for key in keys {
                let Some(secret) = secrets.get(&key) else {
                    problems.push(format!(
                        "{at}: remote key {key} is not a secret Terraform creates in {}",
                        env.name
                    ));
                    continue;
                };
                let Some(role) = &role else { continue };
                let statements = env.role_statements(role);
                let arn = secret.attrs.get("arn").str().unwrap_or("");
                let role_name = role.attrs.get("name").str().unwrap_or("?");
                if !allows(&statements, "secretsmanager:GetSecretValue", arn) {
                    problems.push(format!("{at}: role {role_name} may not read {key} (secretsmanager:GetSecretValue on {arn})"));
                }
                if let Some(key_arn) = secret.attrs.get("kms_key_id").str() {
                    if !allows(&statements, "kms:Decrypt", key_arn) {
                        problems.push(format!(
                            "{at}: role {role_name} may not decrypt {key} with its key {key_arn}"
                        ));
                    }
                }
            }
        }
    }
    problems
}

pub(crate) fn rel_to(p: &Platform, path: &Path) -> String {
    path.strip_prefix(&p.root)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| rel(path))
}

/// A service account bound to an IAM role, wherever it is declared.
pub(crate) struct BoundSa {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) role_arn: String,
    /// `ServiceAccount ns/name (file)`, `release ns/name`, `add-on X`.
    pub(crate) source: String,
    pub(crate) release: Option<usize>,
}

pub(crate) fn service_accounts(env: &EnvModel) -> Vec<BoundSa> {
    const ANNOTATION: &str = "eks.amazonaws.com/role-arn";
    let mut out = Vec::new();
    for m in env
        .manifests
        .iter()
        .filter(|m| m.kind() == "ServiceAccount")
    {
        if let Some(arn) = m.doc["metadata"]["annotations"][ANNOTATION].as_str() {
            out.push(BoundSa {
                namespace: m.namespace().into(),
                name: m.name().into(),
                role_arn: arn.into(),
                source: format!(
                    "ServiceAccount {}/{} ({})",
                    m.namespace(),
                    m.name(),
                    rel(&m.file)
                ),
                release: None,
            });
        }
    }
    for (i, r) in env.releases.iter().enumerate() {
        let sa = &r.values["serviceAccount"];
        if let Some(arn) = sa["annotations"][ANNOTATION].as_str() {
            out.push(BoundSa {
                namespace: r.namespace.clone(),
                // Without an explicit name the chart derives one from the
                // release: the trust policy could not name it reliably.
                name: sa["name"]
                    .as_str()
                    .unwrap_or("<chart default: set serviceAccount.name>")
                    .into(),
                role_arn: arn.into(),
                source: format!("release {}", r.id()),
                release: Some(i),
            });
        }
    }
    // Add-ons Terraform installs run as fixed service accounts.
    for addon in env.instances("aws_eks_addon") {
        let sa = match addon.attrs.get("addon_name").str() {
            Some("aws-ebs-csi-driver") => "ebs-csi-controller-sa",
            Some("vpc-cni") => "aws-node",
            _ => continue,
        };
        if let Some(arn) = addon.attrs.get("service_account_role_arn").str() {
            out.push(BoundSa {
                namespace: "kube-system".into(),
                name: sa.into(),
                role_arn: arn.into(),
                source: format!("add-on {}", addon.address),
                release: None,
            });
        }
    }
    out
}

/// What a workload does with AWS, read from its deploy-side configuration:
/// (action, resource) pairs its role must allow.
pub(crate) fn workload_uses(p: &Platform, env: &EnvModel, sa: &BoundSa) -> Vec<(String, String)> {
    let mut uses = Vec::new();
    if let Some(r) = sa.release.map(|i| &env.releases[i]) {
        // Object storage named in the values (Loki's chunks and ruler buckets).
        let mut leaves = Vec::new();
        deploy::leaves(&r.values, "", &mut leaves);
        for (path, value) in &leaves {
            if path.to_lowercase().contains("bucketnames") {
                for a in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
                    uses.push((a.into(), format!("arn:aws:s3:::{value}/*")));
                }
                uses.push(("s3:ListBucket".into(), format!("arn:aws:s3:::{value}")));
            }
        }
        // YACE's discovery jobs: tag discovery and CloudWatch reads.
        if let Some(config) = r.values["config"].as_str() {
            let config: Value = serde_yaml::from_str(config).unwrap_or(Value::Null);
            if config["discovery"]["jobs"]
                .as_sequence()
                .is_some_and(|j| !j.is_empty())
            {
                for a in [
                    "tag:GetResources",
                    "cloudwatch:GetMetricData",
                    "cloudwatch:ListMetrics",
                ] {
                    uses.push((a.into(), "*".into()));
                }
            }
        }
    }
    // The AWS Load Balancer Controller registers the pods of every
    // TargetGroupBinding in its Terraform target group.
    if sa
        .release
        .is_some_and(|i| env.releases[i].chart_name() == "aws-load-balancer-controller")
    {
        for tgb in env
            .manifests
            .iter()
            .filter(|m| m.kind() == "TargetGroupBinding")
        {
            if let Ok(tg) = super::access::binding_target_group(p, env, tgb) {
                if let Some(arn) = tg.attrs.get("arn").str() {
                    for a in [
                        "elasticloadbalancing:RegisterTargets",
                        "elasticloadbalancing:DeregisterTargets",
                    ] {
                        uses.push((a.into(), arn.into()));
                    }
                }
            }
        }
    }
    // The in-cluster compliance audit: `ohmc-infra audit` assumes the
    // environment's audit role and needs every read the checks make.
    for m in env.manifests.iter() {
        let spec = match m.kind() {
            "CronJob" => &m.doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "Job" => &m.doc["spec"]["template"]["spec"],
            _ => continue,
        };
        if m.namespace() != sa.namespace
            || spec["serviceAccountName"].as_str() != Some(sa.name.as_str())
        {
            continue;
        }
        let runs_audit = spec["containers"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|c| {
                c["args"]
                    .as_sequence()
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    == Some("audit")
            });
        if runs_audit {
            if let Some(arn) = &env.role_arn {
                uses.push(("sts:AssumeRole".into(), arn.clone()));
            }
            let policy = yaml_file(&p.root.join("deploy/iam/audit-readonly-policy.json"));
            for st in policy["Statement"].as_sequence().into_iter().flatten() {
                for a in st["Action"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    uses.push((a.into(), "*".into()));
                }
            }
        }
    }
    uses
}

pub(crate) fn check_service_accounts(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        for sa in service_accounts(env) {
            let at = format!("{}: {}", env.name, sa.source);
            let expected = format!("arn:aws:iam::{}:role/", env.account_id);
            if !sa.role_arn.starts_with(&expected) {
                problems.push(format!(
                    "{at}: role {} is not a role of account {}",
                    sa.role_arn, env.account_id
                ));
                continue;
            }
            let Some(role) = env.role(&sa.role_arn) else {
                problems.push(format!(
                    "{at}: role {} is not created by Terraform in {}",
                    role_name(&sa.role_arn),
                    env.name
                ));
                continue;
            };
            let sub = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
            if !trusts_sub(role.attrs.get("assume_role_policy"), &sub) {
                problems.push(format!(
                    "{at}: role {} does not trust {sub}",
                    role_name(&sa.role_arn)
                ));
            }
            let statements = env.role_statements(&role);
            for (action, resource) in workload_uses(p, env, &sa) {
                if !allows(&statements, &action, &resource) {
                    problems.push(format!(
                        "{at}: role {} does not allow {action} on {resource}",
                        role_name(&sa.role_arn)
                    ));
                }
            }
        }
    }
    problems
}

pub(crate) fn check_storage(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        let classes: BTreeMap<&str, &Manifest> = env
            .manifests
            .iter()
            .filter(|m| m.kind() == "StorageClass")
            .map(|m| (m.name(), m))
            .collect();
        let mut refs: Vec<(String, String)> = Vec::new();
        for m in &env.manifests {
            let mut leaves = Vec::new();
            deploy::leaves(&m.doc, "", &mut leaves);
            for (path, v) in leaves {
                if path.ends_with("storageClassName") {
                    refs.push((
                        format!("{} {}/{} {path}", m.kind(), m.namespace(), m.name()),
                        v,
                    ));
                }
            }
        }
        for r in &env.releases {
            let mut leaves = Vec::new();
            deploy::leaves(&r.values, "", &mut leaves);
            for (path, v) in leaves {
                if path.ends_with("storageClassName") || path.ends_with("storageClass") {
                    refs.push((format!("release {} value {path}", r.id()), v));
                }
            }
        }
        let addons: BTreeSet<String> = env
            .instances("aws_eks_addon")
            .iter()
            .filter_map(|a| a.attrs.get("addon_name").str().map(String::from))
            .collect();
        let mut used = BTreeSet::new();
        for (at, class) in refs {
            match classes.get(class.as_str()) {
                None => problems.push(format!(
                    "{}: {at}: storage class {class} is defined nowhere",
                    env.name
                )),
                Some(_) => {
                    used.insert(class);
                }
            }
        }
        for class in used {
            let m = classes[class.as_str()];
            let provisioner = m.doc["provisioner"].as_str().unwrap_or("");
            let driver_addon = match provisioner {
                "ebs.csi.aws.com" => "aws-ebs-csi-driver",
                "efs.csi.aws.com" => "aws-efs-csi-driver",
                other => {
                    problems.push(format!("{}: storage class {class}: provisioner {other} is not a CSI driver the platform installs", env.name));
                    continue;
                }
            };
            if !addons.contains(driver_addon) {
                problems.push(format!(
                    "{}: storage class {class} ({provisioner}): the {driver_addon} add-on is not installed by Terraform",
                    env.name
                ));
            }
            if m.doc["parameters"]["encrypted"].as_str() != Some("true") {
                problems.push(format!(
                    "{}: storage class {class} does not encrypt its volumes",
                    env.name
                ));
            }
        }
    }
    problems
}

/// `NAME="${NAME:-$(stack_output OUTPUT [INDEX])}"` lines of deploy.sh: which
/// placeholder is filled from which stack output (`OUTPUT INDEX` for an
/// element of a list output).
pub(crate) fn deploy_sh_outputs(p: &Platform) -> BTreeMap<String, String> {
    let re = regex::Regex::new(
        r#"(?m)^\s*([A-Z_]+)="\$\{[A-Z_]+:-\$\(stack_output ([a-z0-9_]+(?: [0-9]+)?)\)\}""#,
    )
    .unwrap();
    re.captures_iter(&p.deploy_sh)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

pub(crate) fn check_values(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    let placeholders = deploy_sh_outputs(p);
    for env in &p.envs {
        let arns: BTreeSet<String> = env
            .tf
            .instances
            .borrow()
            .iter()
            .filter(|i| i.kind == "resource")
            .filter_map(|i| i.attrs.get("arn").str().map(String::from))
            .collect();
        let buckets: BTreeSet<String> = env
            .instances("aws_s3_bucket")
            .iter()
            .filter_map(|b| b.attrs.get("bucket").str().map(String::from))
            .collect();
        let outputs: BTreeSet<String> = env
            .tf
            .stacks
            .iter()
            .flat_map(|s| match env.tf.outputs(&s.name) {
                V::Map(m) => m.keys().cloned().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        for r in &env.releases {
            let mut leaves = Vec::new();
            deploy::leaves(&r.values, "", &mut leaves);
            for (path, value) in leaves {
                let at = format!("{}: release {} value {path}", env.name, r.id());
                let key = path.rsplit('.').next().unwrap_or("").to_lowercase();
                if value.starts_with("arn:aws") && !arns.contains(&value) {
                    problems.push(format!(
                        "{at}: {value} is not created by Terraform in {}",
                        env.name
                    ));
                }
                if path.to_lowercase().contains("bucket")
                    && !value.contains("${")
                    && !buckets.contains(&value)
                {
                    problems.push(format!(
                        "{at}: bucket {value} is not created by Terraform in {}",
                        env.name
                    ));
                }
                if (key == "region" || key == "awsregion") && value != env.region {
                    problems.push(format!(
                        "{at}: region {value} is not {}'s region {}",
                        env.name, env.region
                    ));
                }
                let ph = regex::Regex::new(r"\$\{([A-Z_]+)\}").unwrap();
                for c in ph.captures_iter(&value) {
                    match placeholders.get(&c[1]) {
                        None => problems.push(format!("{at}: ${{{}}} is not filled by scripts/deploy.sh from a stack output", &c[1])),
                        Some(o) if !outputs.contains(o.split(' ').next().unwrap_or(o)) => problems.push(format!(
                            "{at}: ${{{}}} comes from stack output {o}, which no stack of {} declares",
                            &c[1], env.name
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    problems
}

/// `<account>.dkr.ecr.<region>.amazonaws.com/<repository>` of a workload image.
pub(crate) fn ecr_image(image: &str) -> Option<(String, String, String)> {
    let re =
        regex::Regex::new(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)").unwrap();
    re.captures(image)
        .map(|c| (c[1].to_owned(), c[2].to_owned(), c[3].to_owned()))
}

pub(crate) fn check_images_and_ci(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    let repos = |env: &EnvModel| -> BTreeMap<String, Instance> {
        env.instances("aws_ecr_repository")
            .into_iter()
            .filter_map(|r| r.attrs.get("name").str().map(|n| (n.to_owned(), r.clone())))
            .collect()
    };
    // Where images arrive: pushed by a build job, or promoted by a deploy job.
    let mut pushed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut promoted: BTreeMap<String, String> = BTreeMap::new();
    for job in &p.jobs {
        let at = format!("{} job {}", rel_to(p, &job.file), job.name);
        if !job.role_vars.is_empty() && job.environments.is_empty() {
            problems.push(format!(
                "{at}: assumes vars.{} without an environment: its OIDC sub names no environment, so no account's role can trust it",
                job.role_vars.join(", vars.")
            ));
        }
        for github_env in &job.environments {
            let Some(env) = p.tf_env_of(github_env) else {
                problems.push(format!("{at}: GitHub environment {github_env} maps to no environments/ entry in .github/aws-roles.yaml"));
                continue;
            };
            for var in &job.role_vars {
                let spec = &p.roles["variables"][var.as_str()];
                let (Some(stack), Some(output)) = (spec["stack"].as_str(), spec["output"].as_str())
                else {
                    problems.push(format!(
                        "{at}: vars.{var} is not described in .github/aws-roles.yaml"
                    ));
                    continue;
                };
                let mut value = env.tf.outputs(stack).get(output).clone();
                if let Some(k) = spec["key"].as_str() {
                    value = value.get(k).clone();
                }
                let Some(arn) = value.str().map(String::from) else {
                    problems.push(format!("{at}: vars.{var} comes from {stack} output {output}, which is not a role ARN in {}", env.name));
                    continue;
                };
                let Some(role) = env.role(&arn) else {
                    problems.push(format!(
                        "{at}: vars.{var} = {arn} is not a Terraform role in {}",
                        env.name
                    ));
                    continue;
                };
                let repos_trusted = env
                    .tf
                    .stacks
                    .iter()
                    .find_map(|s| s.tfvars.get("github_repositories"))
                    .map(V::strings)
                    .unwrap_or_default();
                let subs: Vec<String> = repos_trusted
                    .iter()
                    .map(|r| format!("repo:{r}:environment:{github_env}"))
                    .collect();
                if !subs
                    .iter()
                    .any(|s| trusts_sub(role.attrs.get("assume_role_policy"), s))
                {
                    problems.push(format!(
                        "{at}: role {} (vars.{var}) does not trust the job's sub {}",
                        role_name(&arn),
                        subs.first().cloned().unwrap_or_default()
                    ));
                }
                let statements = env.role_statements(&role);
                let env_repos = repos(env);
                for repo in &job.pushes {
                    pushed
                        .entry(env.name.clone())
                        .or_default()
                        .insert(repo.clone());
                    match env_repos.get(repo) {
                        None => problems.push(format!(
                            "{at}: pushes {repo}, which Terraform does not create in {} ({})",
                            env.name, env.account_id
                        )),
                        Some(r) => {
                            let arn = r.attrs.get("arn").str().unwrap_or("");
                            if !allows(&statements, "ecr:PutImage", arn) {
                                problems.push(format!(
                                    "{at}: role {} may not push to {repo}",
                                    role_name(role.attrs.get("arn").str().unwrap_or(""))
                                ));
                            }
                        }
                    }
                }
                // A step copying the images from another environment's
                // registry (scripts/deploy.sh --promote-from), when it runs
                // for this GitHub environment.
                for step in job.raw["steps"].as_sequence().into_iter().flatten() {
                    let Some(source) = step["env"]["PROMOTE_FROM"].as_str() else {
                        continue;
                    };
                    let runs_here = step["if"]
                        .as_str()
                        .is_none_or(|cond| cond.contains(&format!("'{github_env}'")));
                    if runs_here
                        && step["run"]
                            .as_str()
                            .is_some_and(|r| r.contains("--promote-from"))
                    {
                        promoted.insert(env.name.clone(), source.to_owned());
                    }
                }
            }
        }
    }
    // Promotion: the target's deploy role pulls from the source's repositories,
    // and those repositories let the target's account pull.
    for (target, source) in &promoted {
        let (Some(t), Some(s)) = (p.env(target), p.env(source)) else {
            problems.push(format!(
                "{target}: promoted from unknown environment {source}"
            ));
            continue;
        };
        let policies = s.instances("aws_ecr_repository_policy");
        for (name, repo) in repos(s) {
            let allowed = policies.iter().any(|pol| {
                pol.attrs.get("repository").str() == Some(&name)
                    && pol
                        .attrs
                        .get("policy")
                        .get("Statement")
                        .items()
                        .iter()
                        .any(|st| {
                            st.get("Action")
                                .strings()
                                .iter()
                                .any(|a| glob(a, "ecr:BatchGetImage", true))
                                && st
                                    .get("Principal")
                                    .get("AWS")
                                    .strings()
                                    .iter()
                                    .any(|pr| pr.contains(&t.account_id))
                        })
            });
            if !allowed {
                problems.push(format!(
                    "{source}: repository {name} does not let {target}'s account {} pull (promotion to {target})",
                    t.account_id
                ));
            }
            let _ = repo;
        }
        let from_source = pushed.get(source).cloned().unwrap_or_default();
        pushed
            .entry(target.clone())
            .or_default()
            .extend(from_source);
    }
    // Workloads pull from their own account's registry: the repository
    // exists there and images reach it.
    for env in &p.envs {
        let env_repos = repos(env);
        for m in &env.manifests {
            let mut leaves = Vec::new();
            deploy::leaves(&m.doc, "", &mut leaves);
            for (path, image) in leaves.into_iter().filter(|(p, _)| p.ends_with(".image")) {
                let Some((account, region, repo)) = ecr_image(&image) else {
                    continue;
                };
                let at = format!(
                    "{}: {} {}/{} {path}",
                    env.name,
                    m.kind(),
                    m.namespace(),
                    m.name()
                );
                if account != env.account_id || region != env.region {
                    problems.push(format!(
                        "{at}: pulls from {account}/{region}, not {}'s registry",
                        env.name
                    ));
                } else if !env_repos.contains_key(&repo) {
                    problems.push(format!(
                        "{at}: repository {repo} is not created by Terraform in {}",
                        env.name
                    ));
                } else if !pushed.get(&env.name).is_some_and(|s| s.contains(&repo)) {
                    problems.push(format!(
                        "{at}: no workflow pushes or promotes {repo} into {}",
                        env.name
                    ));
                }
            }
        }
    }
    problems
}

pub(crate) fn lock_entries(p: &Platform) -> Vec<&Value> {
    p.lock["charts"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

pub(crate) fn check_charts(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    let entries = lock_entries(p);
    let hex = regex::Regex::new("^[0-9a-f]{64}$").unwrap();
    for e in &entries {
        let what = format!(
            "{} {}",
            e["chart"].as_str().unwrap_or("?"),
            e["version"].as_str().unwrap_or("?")
        );
        match e["digest"].as_str() {
            Some(d) if hex.is_match(d) => {}
            Some(d) => problems.push(format!(
                "charts.lock.yaml {what}: digest {d} is not a sha256"
            )),
            None if e["source"]
                .as_str()
                .is_some_and(|s| s.contains("no digest")) => {}
            None => problems.push(format!(
                "charts.lock.yaml {what}: no digest and no source saying why"
            )),
        }
    }
    let mut used = BTreeSet::new();
    for env in &p.envs {
        for r in &env.releases {
            let found = entries.iter().position(|e| {
                e["repository"].as_str() == Some(r.repo_url.as_str())
                    && e["chart"].as_str() == Some(r.chart_name())
                    && e["version"].as_str() == Some(r.version.as_str())
            });
            match found {
                Some(i) => {
                    used.insert(i);
                }
                None => problems.push(format!(
                    "release {} ({}): chart {} {} from {} is not in deploy/charts.lock.yaml, i.e. not in the repository's published index",
                    r.id(),
                    rel_to(p, &r.helmfile),
                    r.chart,
                    r.version,
                    r.repo_url
                )),
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if !used.contains(&i) {
            problems.push(format!(
                "charts.lock.yaml: {} {} is pinned by no helmfile (stale entry)",
                e["chart"].as_str().unwrap_or("?"),
                e["version"].as_str().unwrap_or("?")
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The CRD kinds each locked chart installs.
pub(crate) fn crd_owners(p: &Platform, env: &EnvModel) -> BTreeMap<String, String> {
    let mut owners = BTreeMap::new();
    for r in &env.releases {
        for e in lock_entries(p) {
            if e["chart"].as_str() == Some(r.chart_name())
                && e["version"].as_str() == Some(&r.version)
            {
                for k in e["crds"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    // A chart whose values turn its CRDs off does not own them.
                    if r.values["crds"]["enabled"].as_bool() == Some(false)
                        || r.values["installCRDs"].as_bool() == Some(false)
                    {
                        continue;
                    }
                    owners.insert(k.to_owned(), r.id());
                }
            }
        }
    }
    owners
}

/// The CRD kinds a release's values make it create.
pub(crate) fn release_crd_uses(r: &Release) -> BTreeSet<String> {
    let mut uses = BTreeSet::new();
    pub(crate) fn walk(v: &Value, uses: &mut BTreeSet<String>) {
        if let Value::Mapping(m) = v {
            for (k, v) in m {
                match k.as_str() {
                    Some("serviceMonitor") if v["enabled"].as_bool() == Some(true) => {
                        uses.insert("ServiceMonitor".to_owned());
                    }
                    Some("prometheusRule") if v["enabled"].as_bool() == Some(true) => {
                        uses.insert("PrometheusRule".to_owned());
                    }
                    _ => {}
                }
                walk(v, uses);
            }
        }
    }
    walk(&r.values, &mut uses);
    uses
}

/// deploy.sh's bootstrap order: `"helmfile PATH"` and `"manifests PATH"` steps.
pub(crate) fn bootstrap_steps(p: &Platform) -> Vec<(String, String)> {
    let Some(start) = p.deploy_sh.find("BOOTSTRAP_STEPS=(") else {
        return Vec::new();
    };
    let body = &p.deploy_sh[start..];
    let end = body.find("\n)").unwrap_or(body.len());
    regex::Regex::new(r#""(helmfile|manifests) ([^"]+)""#)
        .unwrap()
        .captures_iter(&body[..end])
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

pub(crate) fn check_ordering(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    let steps = bootstrap_steps(p);
    if steps.is_empty() {
        problems.push("scripts/deploy.sh declares no BOOTSTRAP_STEPS: a fresh cluster has no documented order".into());
    }
    for env in &p.envs {
        let owners = crd_owners(p, env);
        // Within a helmfile: a release using another release's CRDs needs it.
        for r in &env.releases {
            for kind in release_crd_uses(r) {
                let Some(owner) = owners.get(&kind) else {
                    problems.push(format!(
                        "{}: release {} creates {kind} objects, whose CRD no release installs",
                        env.name,
                        r.id()
                    ));
                    continue;
                };
                if *owner == r.id() {
                    continue;
                }
                let owner_release = env
                    .releases
                    .iter()
                    .find(|o| o.id() == *owner)
                    .expect("owner");
                let needs = r.needs.iter().any(|n| {
                    n == owner || (!n.contains('/') && format!("{}/{n}", r.namespace) == *owner)
                });
                if owner_release.helmfile != r.helmfile {
                    // helmfile cannot order across files: the owner's helmfile
                    // must come first in the bootstrap.
                    let pos = |f: &Path| {
                        steps
                            .iter()
                            .position(|(k, s)| k == "helmfile" && p.root.join(s) == f)
                    };
                    match (pos(&owner_release.helmfile), pos(&r.helmfile)) {
                        (Some(a), Some(b)) if a < b => {}
                        _ => problems.push(format!(
                            "{}: release {} creates {kind} objects, but {owner} (which installs the CRD) is in {}, not applied before {}",
                            env.name,
                            r.id(),
                            rel_to(p, &owner_release.helmfile),
                            rel_to(p, &r.helmfile)
                        )),
                    }
                } else if !needs {
                    problems.push(format!("{}: release {} creates {kind} objects but does not `needs:` {owner}, which installs the CRD", env.name, r.id()));
                }
            }
        }
        // Manifests: applied after the helmfile whose release owns their kinds.
        for m in &env.manifests {
            let step = steps.iter().position(|(k, s)| {
                k == "manifests" && (m.file.starts_with(p.root.join(s)) || m.file == p.root.join(s))
            });
            let Some(step) = step else {
                problems.push(format!(
                    "{}: {} is applied by no BOOTSTRAP_STEPS entry of scripts/deploy.sh",
                    env.name,
                    rel_to(p, &m.file)
                ));
                continue;
            };
            let Some(owner) = owners.get(m.kind()) else {
                continue;
            };
            let owner_release = env
                .releases
                .iter()
                .find(|o| o.id() == *owner)
                .expect("owner");
            let helm_step = steps
                .iter()
                .position(|(k, s)| k == "helmfile" && p.root.join(s) == owner_release.helmfile);
            if !helm_step.is_some_and(|h| h < step) {
                problems.push(format!(
                    "{}: {} {}/{} ({}) is applied before {owner}, which installs its CRD",
                    env.name,
                    m.kind(),
                    m.namespace(),
                    m.name(),
                    rel_to(p, &m.file)
                ));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

// --- Rollouts behind the ALB -------------------------------------------------------

/// The seconds a container's preStop hook sleeps (`sleep N` or the native
/// sleep action), if it has one.
pub(crate) fn prestop_sleep(container: &Value) -> Option<u64> {
    let pre = &container["lifecycle"]["preStop"];
    if let Some(s) = pre["sleep"]["seconds"].as_u64() {
        return Some(s);
    }
    let cmd: Vec<&str> = pre["exec"]["command"]
        .as_sequence()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match cmd.as_slice() {
        ["sleep", n] => n.parse().ok(),
        [.., "-c", script] => script
            .strip_prefix("sleep ")
            .and_then(|n| n.trim().parse().ok()),
        _ => None,
    }
}

/// Pods registered in an ALB target group through a TargetGroupBinding must
/// leave it before they stop serving: the namespace injects the readiness
/// gate, the preStop hook outlasts the target group's deregistration delay,
/// and the termination grace outlasts the hook.
pub(crate) fn check_rollouts(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    let placeholders = deploy_sh_outputs(p);
    let ph = regex::Regex::new(r"^\$\{([A-Z_]+)\}$").unwrap();
    for env in &p.envs {
        for tgb in env
            .manifests
            .iter()
            .filter(|m| m.kind() == "TargetGroupBinding")
        {
            let at = format!(
                "{}: TargetGroupBinding {}/{}",
                env.name,
                tgb.namespace(),
                tgb.name()
            );
            let arn = tgb.doc["spec"]["targetGroupARN"].as_str().unwrap_or("");
            let output = ph
                .captures(arn)
                .and_then(|c| placeholders.get(&c[1]).cloned());
            let Some(output) = output else {
                problems.push(format!(
                    "{at}: target group {arn} is not a stack output deploy.sh fills in"
                ));
                continue;
            };
            let value = env
                .tf
                .stacks
                .iter()
                .map(|s| env.tf.outputs(&s.name).get(&output).clone())
                .find(|v| *v != V::Null);
            let tg = value.as_ref().and_then(V::str).and_then(|a| {
                env.instances("aws_lb_target_group")
                    .into_iter()
                    .find(|t| t.attrs.get("arn").str() == Some(a))
            });
            let Some(tg) = tg else {
                problems.push(format!(
                    "{at}: stack output {output} is not a target group Terraform creates"
                ));
                continue;
            };
            // AWS's default when the argument is absent.
            let delay = match tg.attrs.get("deregistration_delay") {
                V::Num(n) => *n as u64,
                V::Str(s) => s.parse().unwrap_or(300),
                _ => 300,
            };
            let ns = tgb.namespace();
            let namespace = env
                .manifests
                .iter()
                .find(|m| m.kind() == "Namespace" && m.name() == ns);
            if namespace.map(|n| {
                n.doc["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"].as_str()
            }) != Some(Some("enabled"))
            {
                problems.push(format!("{at}: namespace {ns} lacks elbv2.k8s.aws/pod-readiness-gate-inject: enabled, so a rollout can remove pods the ALB still routes to"));
            }
            let service = tgb.doc["spec"]["serviceRef"]["name"].as_str().unwrap_or("");
            let selector = env
                .manifests
                .iter()
                .find(|m| m.kind() == "Service" && m.namespace() == ns && m.name() == service)
                .map(|s| s.doc["spec"]["selector"].clone())
                .unwrap_or(Value::Null);
            for d in env
                .manifests
                .iter()
                .filter(|m| m.kind() == "Deployment" && m.namespace() == ns)
            {
                let labels = &d.doc["spec"]["template"]["metadata"]["labels"];
                let selected = selector.as_mapping().is_some_and(|sel| {
                    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
                });
                if !selected {
                    continue;
                }
                let spec = &d.doc["spec"]["template"]["spec"];
                let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
                for c in spec["containers"].as_sequence().into_iter().flatten() {
                    let name = c["name"].as_str().unwrap_or("?");
                    match prestop_sleep(c) {
                        None => problems.push(format!("{at}: deployment {} container {name} has no preStop sleep: it stops while the ALB still sends it requests", d.name())),
                        Some(s) if s < delay => problems.push(format!("{at}: deployment {} container {name} sleeps {s}s before stopping, less than the target group's deregistration delay of {delay}s", d.name())),
                        Some(s) if grace <= s => problems.push(format!("{at}: deployment {} terminationGracePeriodSeconds {grace} does not outlast its {s}s preStop sleep", d.name())),
                        Some(_) => {}
                    }
                }
                if grace <= delay {
                    problems.push(format!("{at}: deployment {} terminationGracePeriodSeconds {grace} is not longer than the deregistration delay of {delay}s", d.name()));
                }
            }
        }
    }
    problems
}
