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
//! | audit reach      | each in-cluster audit's target accounts: role there, its trust of the IRSA role, outputs |
//! | entry points     | Grafana's internal ALB, sign-in and certificate; the backend port admitting only the ALB's subnets |

mod access;
mod audit_reach;
mod checks;
mod ci;
mod deploy;
mod deploy_script;
mod model;
mod pipeline;
mod tf;

use std::path::Path;

use crate::harness::repo_root;
use access::{check_backend_ingress, check_grafana_access};
use audit_reach::check_audit_reach;
use checks::*;
use model::{trusts_sub, Platform};

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
        "runbooks",
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

#[test]
fn grafana_is_reachable_through_an_internal_alb_behind_sign_in() {
    assert_clean("grafana access", check_grafana_access(&platform()));
}

#[test]
fn grafana_access_check_fails_without_the_binding_or_sign_in_or_on_a_public_alb() {
    let (_d, p) = broken(&[(
        "deploy/monitoring/manifests/grafana-targetgroupbinding.yaml",
        "name: kube-prometheus-stack-grafana",
        "name: grafana",
    )]);
    assert_names(
        &check_grafana_access(&p),
        &[
            "Grafana (Service monitoring/kube-prometheus-stack-grafana)",
            "no TargetGroupBinding",
        ],
    );
    let (_d, p) = broken(&[
        (
            "terraform/stacks/edge/grafana.tf",
            "internal                   = true",
            "internal                   = false",
        ),
        (
            "terraform/stacks/edge/grafana.tf",
            "    type  = \"authenticate-cognito\"\n    order = 1",
            "    type  = \"authenticate-cognito\"\n    order = 3",
        ),
        (
            "deploy/monitoring/env/production.yaml",
            "grafanaUrl: https://grafana.ohmycoins.io",
            "grafanaUrl: https://monitoring.ohmycoins.io",
        ),
    ]);
    let problems = check_grafana_access(&p);
    assert_names(&problems, &["staging: Grafana", "is internet-facing"]);
    assert_names(
        &problems,
        &[
            "staging: Grafana",
            "forwards without signing the user in first",
        ],
    );
    assert_names(
        &problems,
        &[
            "production: Grafana",
            "serves no certificate for monitoring.ohmycoins.io",
        ],
    );
}

#[test]
fn the_load_balancer_controller_may_register_grafana() {
    let (_d, p) = broken(&[(
        "terraform/stacks/iam/main.tf",
        "    data.terraform_remote_state.edge.outputs.grafana_target_group_arn,\n",
        "",
    )]);
    assert_names(
        &check_service_accounts(&p),
        &[
            "release kube-system/aws-load-balancer-controller",
            "does not allow elasticloadbalancing:RegisterTargets",
            "grafana",
        ],
    );
}

#[test]
fn the_backend_port_admits_only_the_albs_subnets() {
    assert_clean("backend ingress", check_backend_ingress(&platform()));
}

#[test]
fn backend_ingress_check_fails_on_the_whole_vpc() {
    let (_d, p) = broken(&[(
        "deploy/k8s/network-policies/ohmc.yaml",
        "cidr: ${ALB_SUBNET_CIDR_A}",
        "cidr: ${VPC_CIDR}",
    )]);
    assert_names(
        &check_backend_ingress(&p),
        &[
            "NetworkPolicy ohmc/backend admits port [8000] of TargetGroupBinding ohmc/backend from ${VPC_CIDR}",
            "stack output vpc_cidr_block, not the public subnets",
        ],
    );
    let (_d, p) = broken(&[(
        "scripts/deploy.sh",
        "  ALB_SUBNET_CIDR_C=\"${ALB_SUBNET_CIDR_C:-$(stack_output public_subnet_cidr_blocks 2)}\"\n",
        "",
    )]);
    let problems = check_backend_ingress(&p);
    assert_names(
        &problems,
        &[
            "from ${ALB_SUBNET_CIDR_C}",
            "not a public subnet deploy.sh fills in",
        ],
    );
    assert_names(&problems, &["deploy.sh fills 2 of the 3 public subnets"]);
}

/// Step 5 of "A real recovery" in runbooks/DISASTER_RECOVERY.md: the text
/// from its `# 5.` line to the end of its code block.
fn recovery_secrets_step(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("runbooks/DISASTER_RECOVERY.md")).unwrap();
    let section = text
        .split("## A real recovery")
        .nth(1)
        .expect("DISASTER_RECOVERY.md has a real-recovery section");
    let from = section
        .find("# 5.")
        .expect("the real recovery has a step 5");
    let rest = &section[from..];
    rest[..rest.find("```").unwrap_or(rest.len())].to_owned()
}

/// Whether `step` has a `kubectl -n NS annotate externalsecret` line naming
/// `name` (or `--all`).
fn refreshes(step: &str, ns: &str, name: &str) -> bool {
    step.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        l.contains("annotate externalsecret")
            && l.contains("force-sync")
            && words.windows(2).any(|w| w == ["-n", ns])
            && (words.contains(&name) || words.contains(&"--all"))
    })
}

/// The secrets a real recovery must update are those of every workload, not
/// only the backend's: every ExternalSecret in deploy/ is refreshed in step
/// 5, every Secrets Manager secret they read is named there with the data
/// store addresses it holds, and every Deployment reading one is restarted.
fn check_recovery_step(p: &Platform) -> Vec<String> {
    let step = recovery_secrets_step(&p.root);
    let mut problems = Vec::new();
    let env = &p.envs[0];
    let endpoint = regex::Regex::new(r"^(postgres|redis|rds).*(host|url|address|dsn)$").unwrap();
    let mut targets = Vec::new();
    for es in env
        .manifests
        .iter()
        .filter(|m| m.kind() == "ExternalSecret")
    {
        let at = format!("ExternalSecret {}/{}", es.namespace(), es.name());
        if !refreshes(&step, es.namespace(), es.name()) {
            problems.push(format!(
                "{at}: the real recovery's step 5 does not refresh it"
            ));
        }
        let spec = &es.doc["spec"];
        let refs = spec["data"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|d| &d["remoteRef"])
            .chain(
                spec["dataFrom"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|d| &d["extract"]),
            );
        for r in refs {
            let Some(key) = r["key"].as_str() else {
                continue;
            };
            let key = key.replace(&format!("/{}/", env.name), "/$ENV/");
            if !step.contains(&key) {
                problems.push(format!("{at}: step 5 does not update {key}"));
            }
            if let Some(prop) = r["property"].as_str() {
                if endpoint.is_match(prop) && !step.contains(prop) {
                    problems.push(format!(
                        "{at}: step 5 does not update {key} property {prop} (a data store address)"
                    ));
                }
            }
        }
        targets.push((
            es.namespace().to_owned(),
            spec["target"]["name"].as_str().unwrap_or("").to_owned(),
        ));
    }
    for d in env.manifests.iter().filter(|m| m.kind() == "Deployment") {
        let spec = &d.doc["spec"]["template"]["spec"];
        let reads = |secret: &str| {
            spec["containers"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|c| {
                    c["envFrom"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .any(|e| e["secretRef"]["name"].as_str() == Some(secret))
                        || c["env"].as_sequence().into_iter().flatten().any(|e| {
                            e["valueFrom"]["secretKeyRef"]["name"].as_str() == Some(secret)
                        })
                })
        };
        let uses = targets
            .iter()
            .any(|(ns, t)| ns == d.namespace() && reads(t));
        let restarted = step.lines().any(|l| {
            l.contains("rollout restart")
                && l.contains(&format!("-n {}", d.namespace()))
                && l.contains(&format!("deployment/{}", d.name()))
        });
        if uses && !restarted {
            problems.push(format!(
                "Deployment {}/{}: reads a refreshed secret but step 5 does not restart it",
                d.namespace(),
                d.name()
            ));
        }
    }
    // One line per missing key, however many entries read it.
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn the_real_recovery_refreshes_every_external_secret() {
    assert_clean("real recovery step 5", check_recovery_step(&platform()));
}

#[test]
fn recovery_check_fails_on_an_external_secret_the_step_does_not_cover() {
    let (_d, p) = broken(&[(
        "deploy/k8s/collectors/externalsecret.yaml",
        "key: ohmc/${ENVIRONMENT}/collectors",
        "key: ohmc/${ENVIRONMENT}/collector-feeds",
    )]);
    assert_names(
        &check_recovery_step(&p),
        &[
            "ExternalSecret ohmc-collectors/collectors-secrets",
            "does not update ohmc/$ENV/collector-feeds",
        ],
    );
    let (_d, p) = broken(&[(
        "deploy/monitoring/manifests/externalsecrets.yaml",
        "  name: redis-exporter\n  namespace: monitoring",
        "  name: redis-exporter\n  namespace: ohmc",
    )]);
    assert_names(
        &check_recovery_step(&p),
        &["ExternalSecret ohmc/redis-exporter", "does not refresh it"],
    );
}

#[test]
fn every_in_cluster_audit_can_reach_what_it_audits() {
    assert_clean("audit reach", check_audit_reach(&platform()));
}

#[test]
fn audit_reach_check_fails_on_another_environment_or_a_missing_org_role() {
    // The CronJob as it was: every environment from each cluster.
    let (_d, p) = broken(&[(
        "deploy/audit/kubernetes/cronjob.yaml",
        "                - audit\n                - ${ENVIRONMENT}\n",
        "                - audit\n",
    )]);
    let problems = check_audit_reach(&p);
    assert_names(
        &problems,
        &[
            "production: CronJob ohmc-compliance/compliance-audit",
            "may not assume arn:aws:iam::123456789012:role/ohmc-staging-audit",
        ],
    );
    assert_names(
        &problems,
        &[
            "production: CronJob ohmc-compliance/compliance-audit",
            "arn:aws:iam::123456789012:role/ohmc-staging-audit in staging does not trust arn:aws:iam::234567890123:role/ohmc-production-compliance-audit",
        ],
    );
    assert_names(
        &problems,
        &["audits staging but deploy.sh puts only [\"production\"] outputs"],
    );
    // The organisation audit without its role in the accounts.
    let (_d, p) = broken(&[(
        "environments/staging/terraform.tfvars",
        "org_audit_role_name           = \"ohmc-org-audit\"\n",
        "",
    )]);
    let problems = check_audit_reach(&p);
    assert_names(
        &problems,
        &[
            "Job ohmc-compliance/org-audit",
            "arn:aws:iam::123456789012:role/ohmc-org-audit is not created by Terraform in staging",
        ],
    );
    assert_names(
        &problems,
        &[
            "staging: Job ohmc-compliance/org-audit",
            "may not organizations:ListAccounts",
        ],
    );
}
