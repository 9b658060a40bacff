//! The wiring model: every environment's Terraform (evaluated by `tf`), its
//! rendered manifests and helmfile releases (`deploy`), the workflows' jobs
//! (`ci`), and the small IAM evaluation the checks share (`allows`,
//! `trusts_sub`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::platform_code::model::{
    attribute, label, object_string, parse_file, string_list, string_value,
};

use super::ci;
use super::deploy::{self, EnvVars, Manifest, Release};
use super::tf::{eval_const, EnvFacts, Instance, StackDef, World, V};

// --- The model ----------------------------------------------------------------

pub(crate) struct EnvModel {
    pub(crate) name: String,
    pub(crate) account_id: String,
    pub(crate) region: String,
    /// `aws.role_arn` of environment.hcl: what `ohmc-infra` assumes.
    pub(crate) role_arn: Option<String>,
    pub(crate) tf: Box<World>,
    pub(crate) manifests: Vec<Manifest>,
    pub(crate) releases: Vec<Release>,
}

pub(crate) struct Platform {
    pub(crate) root: PathBuf,
    pub(crate) envs: Vec<EnvModel>,
    pub(crate) jobs: Vec<ci::Job>,
    /// `.github/aws-roles.yaml`
    pub(crate) roles: Value,
    /// `deploy/charts.lock.yaml`
    pub(crate) lock: Value,
    pub(crate) deploy_sh: String,
}

pub(crate) fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Platform {
    pub(crate) fn load(root: &Path) -> Platform {
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

    pub(crate) fn env(&self, name: &str) -> Option<&EnvModel> {
        self.envs.iter().find(|e| e.name == name)
    }

    /// The Terraform environment a GitHub environment deploys to.
    pub(crate) fn tf_env_of(&self, github_env: &str) -> Option<&EnvModel> {
        self.roles["github_environments"][github_env]
            .as_str()
            .and_then(|e| self.env(e))
    }
}

impl EnvModel {
    pub(crate) fn instances(&self, ty: &str) -> Vec<Instance> {
        self.tf.of_type(ty)
    }

    pub(crate) fn role(&self, arn: &str) -> Option<Instance> {
        self.instances("aws_iam_role")
            .into_iter()
            .find(|r| r.attrs.get("arn").str() == Some(arn))
    }

    pub(crate) fn secret_names(&self) -> BTreeMap<String, Instance> {
        self.instances("aws_secretsmanager_secret")
            .into_iter()
            .filter_map(|s| s.attrs.get("name").str().map(|n| (n.to_owned(), s.clone())))
            .collect()
    }

    /// Every statement of every identity policy of a role: inline policies,
    /// `aws_iam_role_policy`, attached customer-managed and AWS-managed ones.
    pub(crate) fn role_statements(&self, role: &Instance) -> Vec<V> {
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
pub(crate) fn aws_managed_policy(arn: &str) -> V {
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
pub(crate) fn glob(pattern: &str, text: &str, fold_case: bool) -> bool {
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
pub(crate) fn allows(statements: &[V], action: &str, resource: &str) -> bool {
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
pub(crate) fn trusts_sub(trust: &V, sub: &str) -> bool {
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

pub(crate) fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
