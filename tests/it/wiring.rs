//! The platform as one system: a wiring model across `terraform/`,
//! `environments/`, `deploy/` and `.github/workflows/`, and one test per class
//! of cross-layer reference asserting that every reference resolves.
//!
//! Each layer has its own judge elsewhere (terraform validate, promtool,
//! kubernetes-validate, actionlint); these tests judge what lies between them:
//! a Kubernetes object naming a secret, role, bucket, storage class or chart
//! that the other layer does not provide. Every class also runs its check on a
//! deliberately broken copy of the repository and asserts that the check fails
//! naming the broken reference, so a check that cannot fail is caught too.
//!
//! | class            | reference                                                      |
//! |------------------|----------------------------------------------------------------|
//! | secrets          | ExternalSecret remote key -> Terraform secret, readable by the ESO role |
//! | service accounts | `eks.amazonaws.com/role-arn` -> role trusting that namespace:sa, policy covering the use |
//! | storage          | storageClassName -> StorageClass -> its CSI driver add-on      |
//! | values           | buckets, ARNs, regions and stack-output placeholders in Helm values |
//! | images and CI    | pushed/pulled ECR repositories, OIDC role trust of each job's `sub` |
//! | charts           | helmfile pins -> `deploy/charts.lock.yaml` (from the published indexes) |
//! | ordering         | CRDs before their users (`needs:`, deploy.sh's bootstrap order) |

mod ci;
mod deploy;
mod deploy_script;
mod pipeline;
mod tf;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::harness::{rel, repo_root};
use crate::platform_code::model::{
    attribute, label, object_string, parse_file, string_list, string_value,
};
use deploy::{EnvVars, Manifest, Release};
use tf::{eval_const, EnvFacts, Instance, StackDef, World, V};

// --- The model ----------------------------------------------------------------

struct EnvModel {
    name: String,
    account_id: String,
    region: String,
    /// `aws.role_arn` of environment.hcl: what `ohmc-infra` assumes.
    role_arn: Option<String>,
    tf: Box<World>,
    manifests: Vec<Manifest>,
    releases: Vec<Release>,
}

struct Platform {
    root: PathBuf,
    envs: Vec<EnvModel>,
    jobs: Vec<ci::Job>,
    /// `.github/aws-roles.yaml`
    roles: Value,
    /// `deploy/charts.lock.yaml`
    lock: Value,
    deploy_sh: String,
}

fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Platform {
    fn load(root: &Path) -> Platform {
        let mut envs = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("environments"))
            .expect("environments/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.join("environment.hcl").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let body = parse_file(&dir.join("environment.hcl"));
            let aws = body
                .blocks()
                .find(|b| b.identifier.as_str() == "aws")
                .expect("aws block");
            let get = |k: &str| attribute(&aws.body, k).and_then(string_value);
            let account_id = get("account_id").expect("aws.account_id");
            let region = get("region").expect("aws.region");
            let mut stacks = Vec::new();
            let mut dr_region = None;
            for block in body.blocks().filter(|b| b.identifier.as_str() == "stack") {
                let stack_dir = attribute(&block.body, "dir")
                    .and_then(string_value)
                    .expect("dir");
                let mut tfvars = BTreeMap::new();
                for f in attribute(&block.body, "var_files")
                    .map(string_list)
                    .unwrap_or_default()
                {
                    for a in parse_file(&dir.join(f)).attributes() {
                        tfvars.insert(a.key.as_str().to_owned(), eval_const(&a.expr));
                    }
                }
                if let Some(V::Str(r)) = tfvars.get("dr_region") {
                    dr_region = Some(r.clone());
                }
                stacks.push(StackDef {
                    name: label(block, 0).to_owned(),
                    dir: dir.join(stack_dir).canonicalize().expect("stack dir"),
                    backend_key: attribute(&block.body, "backend_values")
                        .and_then(|v| object_string(v, "key"))
                        .unwrap_or_default(),
                    tfvars,
                });
            }
            let facts = EnvFacts {
                name: name.clone(),
                account_id: account_id.clone(),
                region: region.clone(),
                dr_region,
            };
            let vars = EnvVars {
                environment: name.clone(),
                account_id: account_id.clone(),
                region: region.clone(),
            };
            let mut releases = Vec::new();
            for helmfile in deploy::helmfiles(root) {
                if deploy::helmfile_environments(&helmfile).contains(&name) {
                    releases.extend(deploy::releases(&helmfile, &name));
                }
            }
            envs.push(EnvModel {
                role_arn: get("role_arn"),
                tf: World::new(facts, stacks),
                manifests: deploy::manifests(root, &vars),
                releases,
                name,
                account_id,
                region,
            });
        }
        Platform {
            root: root.to_path_buf(),
            jobs: ci::jobs(root),
            roles: yaml_file(&root.join(".github/aws-roles.yaml")),
            lock: yaml_file(&root.join("deploy/charts.lock.yaml")),
            deploy_sh: std::fs::read_to_string(root.join("scripts/deploy.sh")).expect("deploy.sh"),
            envs,
        }
    }

    fn env(&self, name: &str) -> Option<&EnvModel> {
        self.envs.iter().find(|e| e.name == name)
    }

    /// The Terraform environment a GitHub environment deploys to.
    fn tf_env_of(&self, github_env: &str) -> Option<&EnvModel> {
        self.roles["github_environments"][github_env]
            .as_str()
            .and_then(|e| self.env(e))
    }
}

impl EnvModel {
    fn instances(&self, ty: &str) -> Vec<Instance> {
        self.tf.of_type(ty)
    }

    fn role(&self, arn: &str) -> Option<Instance> {
        self.instances("aws_iam_role")
            .into_iter()
            .find(|r| r.attrs.get("arn").str() == Some(arn))
    }

    fn secret_names(&self) -> BTreeMap<String, Instance> {
        self.instances("aws_secretsmanager_secret")
            .into_iter()
            .filter_map(|s| s.attrs.get("name").str().map(|n| (n.to_owned(), s.clone())))
            .collect()
    }

    /// Every statement of every identity policy of a role: inline policies,
    /// `aws_iam_role_policy`, attached customer-managed and AWS-managed ones.
    fn role_statements(&self, role: &Instance) -> Vec<V> {
        let name = role.attrs.get("name").str().unwrap_or("").to_owned();
        let mut docs: Vec<V> = Vec::new();
        for p in role.attrs.get("inline_policy").items() {
            docs.push(p.get("policy").clone());
        }
        for p in self.instances("aws_iam_role_policy") {
            if p.attrs.get("role").str() == Some(&name) {
                docs.push(p.attrs.get("policy").clone());
            }
        }
        let mut attached: Vec<String> = role.attrs.get("managed_policy_arns").strings();
        for a in self.instances("aws_iam_role_policy_attachment") {
            if a.attrs.get("role").str() == Some(&name) {
                attached.extend(a.attrs.get("policy_arn").strings());
            }
        }
        for arn in attached {
            match self
                .instances("aws_iam_policy")
                .into_iter()
                .find(|p| p.attrs.get("arn").str() == Some(&arn))
            {
                Some(p) => docs.push(p.attrs.get("policy").clone()),
                None => docs.push(aws_managed_policy(&arn)),
            }
        }
        docs.iter()
            .flat_map(|d| match d.get("Statement") {
                V::List(l) => l.clone(),
                m @ V::Map(_) => vec![m.clone()],
                _ => Vec::new(),
            })
            .collect()
    }
}

/// The AWS-managed policies the platform attaches, reduced to what the checks
/// ask of them (their published documents grant these on `*`).
fn aws_managed_policy(arn: &str) -> V {
    let actions: &[&str] = match arn.rsplit('/').next().unwrap_or("") {
        "AmazonEBSCSIDriverPolicy" => &[
            "ec2:CreateVolume",
            "ec2:AttachVolume",
            "ec2:DetachVolume",
            "ec2:DeleteVolume",
            "ec2:CreateSnapshot",
            "ec2:DescribeVolumes",
        ],
        "ReadOnlyAccess" => &["*:Describe*", "*:Get*", "*:List*"],
        "AdministratorAccess" => &["*"],
        _ => &[],
    };
    let statement = V::Map(BTreeMap::from([
        ("Effect".into(), V::Str("Allow".into())),
        (
            "Action".into(),
            V::List(actions.iter().map(|a| V::Str((*a).into())).collect()),
        ),
        ("Resource".into(), V::Str("*".into())),
    ]));
    V::Map(BTreeMap::from([(
        "Statement".into(),
        V::List(vec![statement]),
    )]))
}

/// IAM's wildcard match (`*`, `?`), case-insensitive as IAM matches actions.
fn glob(pattern: &str, text: &str, fold_case: bool) -> bool {
    let (p, t) = if fold_case {
        (pattern.to_lowercase(), text.to_lowercase())
    } else {
        (pattern.to_owned(), text.to_owned())
    };
    let re = format!(
        "^{}$",
        regex::escape(&p).replace(r"\*", ".*").replace(r"\?", ".")
    );
    regex::Regex::new(&re)
        .map(|r| r.is_match(&t))
        .unwrap_or(false)
}

/// Whether any Allow statement grants `action` on `resource`.
fn allows(statements: &[V], action: &str, resource: &str) -> bool {
    statements.iter().any(|s| {
        s.get("Effect").str() == Some("Allow")
            && s.get("Action")
                .strings()
                .iter()
                .any(|a| glob(a, action, true))
            && s.get("Resource")
                .strings()
                .iter()
                .any(|r| glob(r, resource, false))
    })
}

/// Whether a trust policy admits a web identity whose `sub` is `sub`.
fn trusts_sub(trust: &V, sub: &str) -> bool {
    trust.get("Statement").items().iter().any(|s| {
        s.get("Effect").str().unwrap_or("Allow") == "Allow"
            && s.get("Action")
                .strings()
                .iter()
                .any(|a| a == "sts:AssumeRoleWithWebIdentity")
            && ["StringEquals", "StringLike"].iter().any(|test| {
                let like = *test == "StringLike";
                match s.get("Condition").get(test) {
                    V::Map(m) => m.iter().any(|(k, v)| {
                        k.ends_with(":sub")
                            && v.strings().iter().any(|p| {
                                if like {
                                    glob(p, sub, false)
                                } else {
                                    p == sub
                                }
                            })
                    }),
                    _ => false,
                }
            })
    })
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

// --- Checks ---------------------------------------------------------------------

/// The identity the External Secrets Operator runs as: the ClusterSecretStore's
/// service account, and the role that service account is annotated with.
fn eso_role(env: &EnvModel, store: &str, problems: &mut Vec<String>) -> Option<Instance> {
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

fn check_secrets(p: &Platform) -> Vec<String> {
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

fn rel_to(p: &Platform, path: &Path) -> String {
    path.strip_prefix(&p.root)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| rel(path))
}

/// A service account bound to an IAM role, wherever it is declared.
struct BoundSa {
    namespace: String,
    name: String,
    role_arn: String,
    /// `ServiceAccount ns/name (file)`, `release ns/name`, `add-on X`.
    source: String,
    release: Option<usize>,
}

fn service_accounts(env: &EnvModel) -> Vec<BoundSa> {
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
fn workload_uses(p: &Platform, env: &EnvModel, sa: &BoundSa) -> Vec<(String, String)> {
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

fn check_service_accounts(p: &Platform) -> Vec<String> {
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

fn check_storage(p: &Platform) -> Vec<String> {
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

/// `NAME="${NAME:-$(stack_output OUTPUT)}"` lines of deploy.sh: which
/// placeholder is filled from which stack output.
fn deploy_sh_outputs(p: &Platform) -> BTreeMap<String, String> {
    let re =
        regex::Regex::new(r#"(?m)^\s*([A-Z_]+)="\$\{[A-Z_]+:-\$\(stack_output ([a-z0-9_]+)\)\}""#)
            .unwrap();
    re.captures_iter(&p.deploy_sh)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect()
}

fn check_values(p: &Platform) -> Vec<String> {
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
                        Some(o) if !outputs.contains(o) => problems.push(format!(
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
fn ecr_image(image: &str) -> Option<(String, String, String)> {
    let re =
        regex::Regex::new(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)").unwrap();
    re.captures(image)
        .map(|c| (c[1].to_owned(), c[2].to_owned(), c[3].to_owned()))
}

fn check_images_and_ci(p: &Platform) -> Vec<String> {
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

fn lock_entries(p: &Platform) -> Vec<&Value> {
    p.lock["charts"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

fn check_charts(p: &Platform) -> Vec<String> {
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
fn crd_owners(p: &Platform, env: &EnvModel) -> BTreeMap<String, String> {
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
fn release_crd_uses(r: &Release) -> BTreeSet<String> {
    let mut uses = BTreeSet::new();
    fn walk(v: &Value, uses: &mut BTreeSet<String>) {
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
fn bootstrap_steps(p: &Platform) -> Vec<(String, String)> {
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

fn check_ordering(p: &Platform) -> Vec<String> {
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

// --- Tests ----------------------------------------------------------------------

fn platform() -> Platform {
    Platform::load(&repo_root())
}

/// A copy of the repository's layers with `edits` (file, from, to) applied;
/// every edit must match, so a stale test cannot pass vacuously.
fn broken(edits: &[(&str, &str, &str)]) -> (tempfile::TempDir, Platform) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = repo_root();
    for top in [
        "terraform",
        "environments",
        "deploy",
        ".github",
        "scripts/deploy.sh",
    ] {
        copy(&root.join(top), &dir.path().join(top));
    }
    for (file, from, to) in edits {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            text.contains(from),
            "{file} no longer contains {from:?}: update the broken-copy case"
        );
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    let p = Platform::load(dir.path());
    (dir, p)
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with(".terraform") {
                continue;
            }
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

fn assert_clean(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} unresolved reference(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn assert_names(problems: &[String], needles: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| needles.iter().all(|n| p.contains(n))),
        "expected a problem naming {needles:?}, got:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_model_sees_every_layer() {
    let p = platform();
    for env in &p.envs {
        let count = |ty: &str| env.instances(ty).len();
        assert!(
            count("aws_iam_role") >= 8,
            "{}: roles {}",
            env.name,
            count("aws_iam_role")
        );
        assert!(count("aws_secretsmanager_secret") >= 4, "{}", env.name);
        assert!(count("aws_ecr_repository") >= 4, "{}", env.name);
        assert!(
            env.manifests
                .iter()
                .filter(|m| m.kind() == "ExternalSecret")
                .count()
                >= 7,
            "{}",
            env.name
        );
        assert!(
            env.releases.len() >= 10,
            "{}: releases {}",
            env.name,
            env.releases.len()
        );
        // Evaluated, not guessed: the IRSA trust names the cluster's issuer.
        let eso = env
            .role(&format!(
                "arn:aws:iam::{}:role/ohmc-{}-external-secrets",
                env.account_id, env.name
            ))
            .expect("external-secrets role");
        assert!(trusts_sub(
            eso.attrs.get("assume_role_policy"),
            "system:serviceaccount:external-secrets:external-secrets"
        ));
        assert!(!trusts_sub(
            eso.attrs.get("assume_role_policy"),
            "system:serviceaccount:ohmc:backend"
        ));
    }
    assert!(p.jobs.iter().filter(|j| !j.role_vars.is_empty()).count() >= 6);
}

#[test]
fn secrets_resolve_and_the_eso_role_may_read_them() {
    assert_clean("secrets", check_secrets(&platform()));
}

#[test]
fn secrets_check_fails_on_a_missing_secret() {
    let (_d, p) = broken(&[(
        "deploy/k8s/agents/externalsecret.yaml",
        "key: ohmc/${ENVIRONMENT}/agents",
        "key: ohmc/${ENVIRONMENT}/agent",
    )]);
    assert_names(
        &check_secrets(&p),
        &[
            "ExternalSecret ohmc/agents-secrets",
            "ohmc/staging/agent ",
            "not a secret",
        ],
    );
}

#[test]
fn secrets_check_fails_when_the_eso_role_may_not_read() {
    let (_d, p) = broken(&[(
        "terraform/stacks/iam/main.tf",
        "secret_arns       = values(local.data.app_secret_arns)",
        "secret_arns       = [local.data.app_secret_arns[\"backend\"]]",
    )]);
    assert_names(
        &check_secrets(&p),
        &[
            "alertmanager-ohmc-receivers",
            "may not read ohmc/production/monitoring",
        ],
    );
}

#[test]
fn service_account_roles_exist_trust_their_account_and_cover_their_use() {
    assert_clean("service accounts", check_service_accounts(&platform()));
}

#[test]
fn service_account_check_fails_on_a_wrong_namespace_and_a_missing_grant() {
    let (_d, p) = broken(&[
        (
            "deploy/k8s/collectors/serviceaccount.yaml",
            "namespace: ohmc-collectors",
            "namespace: ohmc",
        ),
        (
            "terraform/stacks/iam/main.tf",
            "\"cloudwatch:GetMetricData\", ",
            "",
        ),
    ]);
    let problems = check_service_accounts(&p);
    assert_names(
        &problems,
        &[
            "ServiceAccount ohmc/collectors",
            "does not trust system:serviceaccount:ohmc:collectors",
        ],
    );
    assert_names(
        &problems,
        &[
            "release monitoring/cloudwatch-exporter",
            "does not allow cloudwatch:GetMetricData",
        ],
    );
}

#[test]
fn storage_classes_exist_with_their_csi_driver() {
    assert_clean("storage", check_storage(&platform()));
}

#[test]
fn storage_check_fails_without_the_class_or_the_driver() {
    let (_d, p) = broken(&[
        (
            "deploy/monitoring/values/loki.yaml",
            "storageClass: gp3",
            "storageClass: gp3-fast",
        ),
        (
            "terraform/stacks/platform/ebs-csi.tf",
            "addon_name               = \"aws-ebs-csi-driver\"",
            "addon_name               = \"aws-efs-csi-driver\"",
        ),
    ]);
    let problems = check_storage(&p);
    assert_names(
        &problems,
        &[
            "release monitoring/loki",
            "storage class gp3-fast is defined nowhere",
        ],
    );
    assert_names(
        &problems,
        &[
            "storage class gp3",
            "aws-ebs-csi-driver add-on is not installed",
        ],
    );
}

#[test]
fn buckets_arns_and_placeholders_in_helm_values_come_from_terraform() {
    assert_clean("values", check_values(&platform()));
}

#[test]
fn values_check_fails_on_a_bucket_terraform_does_not_create() {
    let (_d, p) = broken(&[
        (
            "deploy/monitoring/env/production.yaml",
            "lokiBucket: ohmc-production-loki-chunks",
            "lokiBucket: ohmc-production-loki",
        ),
        (
            "scripts/deploy.sh",
            "$(stack_output vpc_id)",
            "$(stack_output vpc)",
        ),
    ]);
    let problems = check_values(&p);
    assert_names(
        &problems,
        &[
            "production: release monitoring/loki",
            "bucket ohmc-production-loki is not created",
        ],
    );
    assert_names(
        &problems,
        &[
            "release kube-system/aws-load-balancer-controller value vpcId",
            "${VPC_ID} comes from stack output vpc,",
        ],
    );
}

#[test]
fn images_go_to_terraform_repositories_and_ci_roles_trust_their_jobs() {
    assert_clean("images and CI", check_images_and_ci(&platform()));
}

#[test]
fn images_and_ci_check_fails_on_an_untrusted_job_and_a_missing_repository() {
    let (_d, p) = broken(&[
        (
            ".github/workflows/build-frontend.yml",
            "    environment: staging\n",
            "",
        ),
        (
            "terraform/stacks/platform/variables.tf",
            "\"agents\", \"compliance-audit\"",
            "\"compliance-audit\"",
        ),
    ]);
    let problems = check_images_and_ci(&p);
    assert_names(
        &problems,
        &["build-frontend.yml job build", "without an environment"],
    );
    assert_names(
        &problems,
        &["pushes ohmc-agents", "does not create in staging"],
    );
}

#[test]
fn chart_pins_are_in_the_lock_taken_from_the_published_indexes() {
    assert_clean("charts", check_charts(&platform()));
}

#[test]
fn chart_check_fails_on_a_version_the_repository_never_published() {
    let (_d, p) = broken(&[(
        "deploy/monitoring/helmfile.yaml.gotmpl",
        "version: 6.16.0",
        "version: 6.16.9",
    )]);
    assert_names(
        &check_charts(&p),
        &[
            "release monitoring/loki",
            "grafana/loki 6.16.9",
            "not in deploy/charts.lock.yaml",
        ],
    );
}

#[test]
fn crds_come_before_their_users() {
    assert_clean("ordering", check_ordering(&platform()));
}

#[test]
fn ordering_check_fails_on_manifests_before_their_crds_and_a_missing_needs() {
    let (_d, p) = broken(&[
        (
            "scripts/deploy.sh",
            "  \"helmfile deploy/k8s/addons/helmfile.yaml.gotmpl\"\n",
            "",
        ),
        (
            "deploy/k8s/addons/helmfile.yaml.gotmpl",
            "    needs: [kube-system/prometheus-operator-crds]\n",
            "",
        ),
    ]);
    let problems = check_ordering(&p);
    assert_names(
        &problems,
        &[
            "PrometheusRule monitoring/",
            "is applied before kube-system/prometheus-operator-crds",
        ],
    );
    assert_names(
        &problems,
        &[
            "release external-secrets/external-secrets creates ServiceMonitor",
            "does not `needs:` kube-system/prometheus-operator-crds",
        ],
    );
}

// --- Rollouts behind the ALB -------------------------------------------------------

/// The seconds a container's preStop hook sleeps (`sleep N` or the native
/// sleep action), if it has one.
fn prestop_sleep(container: &Value) -> Option<u64> {
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
fn check_rollouts(p: &Platform) -> Vec<String> {
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

#[test]
fn pods_behind_the_alb_leave_it_before_they_stop() {
    assert_clean("rollouts", check_rollouts(&platform()));
}

#[test]
fn rollout_check_fails_without_the_readiness_gate_or_with_a_short_grace() {
    let (_d, p) = broken(&[
        (
            "deploy/k8s/base/namespaces.yaml",
            "    elbv2.k8s.aws/pod-readiness-gate-inject: enabled\n",
            "",
        ),
        (
            "deploy/k8s/backend/deployment.yaml",
            "terminationGracePeriodSeconds: 60",
            "terminationGracePeriodSeconds: 30",
        ),
    ]);
    let problems = check_rollouts(&p);
    assert_names(
        &problems,
        &[
            "TargetGroupBinding ohmc/backend",
            "lacks elbv2.k8s.aws/pod-readiness-gate-inject",
        ],
    );
    assert_names(
        &problems,
        &["terminationGracePeriodSeconds 30 is not longer than the deregistration delay of 30s"],
    );
}
