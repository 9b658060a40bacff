//! Kubernetes manifests: `kubernetes-validate --strict` for core kinds, a
//! structural check for CRD kinds, the workload baseline, Helm values.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_yaml::Value;

use crate::harness::{files_under, rel, repo_root, tool};

use super::support::{monitoring, read, run, seq, text, yaml, yaml_docs};

/// The Kubernetes version of the EKS cluster (terraform/modules/eks default).
const KUBERNETES_VERSION: &str = "1.31.0";

/// CRD kinds kubernetes-validate has no schema for; `check_crd` checks them.
const CRD_KINDS: &[&str] = &[
    "ServiceMonitor",
    "PrometheusRule",
    "ExternalSecret",
    "ClusterSecretStore",
    "TargetGroupBinding",
];

fn manifest_files() -> Vec<PathBuf> {
    let mut all = files_under(&repo_root().join("deploy/k8s"), &[".yaml", ".yml"]);
    all.extend(files_under(
        &monitoring().join("manifests"),
        &[".yaml", ".yml"],
    ));
    assert!(all.len() > 10, "too few manifests: {all:?}");
    all
}

/// Every manifest document, with the file it came from.
fn manifests() -> Vec<(PathBuf, Value)> {
    manifest_files()
        .into_iter()
        .flat_map(|p| yaml_docs(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("")
}

fn namespace(doc: &Value) -> &str {
    doc["metadata"]["namespace"].as_str().unwrap_or("")
}

#[test]
fn kubernetes_manifests_pass_kubernetes_validate() {
    let files = manifest_files();
    let out = run(Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files));
    let output = text(&out);
    // Anything but a missing schema for a known CRD kind is a failure.
    let mut problems: Vec<_> = output
        .lines()
        .filter(|l| {
            l.starts_with("ERROR") || l.starts_with("WARN") || l.contains("did not validate")
        })
        .filter(|l| {
            !CRD_KINDS
                .iter()
                .any(|k| l.contains(&format!("Couldn't find schema for kind {k} ")))
        })
        .map(str::to_string)
        .collect();
    if !out.status.success() {
        problems.push(format!("kubernetes-validate exited {}", out.status));
    }
    assert!(
        problems.is_empty(),
        "{}\n\nfull output:\n{output}",
        problems.join("\n")
    );
    let validated = output
        .lines()
        .filter(|l| l.starts_with("INFO") && l.contains(" passed for resource "))
        .count();
    let docs = manifests();
    let crds = docs
        .iter()
        .filter(|(_, d)| CRD_KINDS.contains(&kind(d)))
        .count();
    assert_eq!(
        validated + crds,
        docs.len(),
        "not every document was checked:\n{output}"
    );
}

/// kubernetes-validate ships no CRD schemas; these are the fields each CRD
/// kind needs, and the references between objects that must resolve.
#[test]
fn crd_manifests_are_well_formed_and_their_references_resolve() {
    let docs = manifests();
    let mut problems = Vec::new();
    let services: Vec<&Value> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "Service")
        .collect();
    let stores: BTreeSet<&str> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "ClusterSecretStore")
        .map(name)
        .collect();
    // Services made by Helm charts, which ServiceMonitors may select.
    let chart_services = ["prometheus-pushgateway"];
    // Services made by the monitoring helmfile's charts that a
    // TargetGroupBinding may name: (namespace, release-derived name, port).
    // Grafana's is kube-prometheus-stack's subchart Service, port 80 unless
    // grafana.service.port says otherwise (it does not).
    let chart_service_ports = [("monitoring", "kube-prometheus-stack-grafana", 80u64)];
    for (path, doc) in &docs {
        let at = format!("{} {}/{}", rel(path), kind(doc), name(doc));
        let spec = &doc["spec"];
        let api = doc["apiVersion"].as_str().unwrap_or("");
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{at}: {what}"));
            }
        };
        match kind(doc) {
            "ServiceMonitor" => {
                need(
                    api == "monitoring.coreos.com/v1",
                    "apiVersion monitoring.coreos.com/v1",
                );
                let labels = spec["selector"]["matchLabels"].as_mapping();
                need(
                    labels.is_some_and(|m| !m.is_empty()),
                    "spec.selector.matchLabels",
                );
                need(!seq(&spec["endpoints"]).is_empty(), "spec.endpoints");
                for ep in seq(&spec["endpoints"]) {
                    need(ep["port"].is_string(), "endpoint port name");
                }
                let Some(labels) = labels else { continue };
                let selected: Vec<_> = services
                    .iter()
                    .filter(|svc| {
                        labels
                            .iter()
                            .all(|(k, v)| &svc["metadata"]["labels"][k.as_str().unwrap()] == v)
                    })
                    .collect();
                let from_chart = labels
                    .values()
                    .any(|v| chart_services.contains(&v.as_str().unwrap_or("")));
                need(!selected.is_empty() || from_chart, "selects no Service");
                for svc in selected {
                    for ep in seq(&spec["endpoints"]) {
                        let port = ep["port"].as_str().unwrap_or("");
                        need(
                            seq(&svc["spec"]["ports"]).iter().any(|p| p["name"] == port),
                            "port not on the Service",
                        );
                    }
                    if let Some(job_label) = spec["jobLabel"].as_str() {
                        need(
                            svc["metadata"]["labels"][job_label].is_string(),
                            "Service lacks the jobLabel label",
                        );
                    }
                }
            }
            "PrometheusRule" => {
                need(
                    api == "monitoring.coreos.com/v1",
                    "apiVersion monitoring.coreos.com/v1",
                );
                need(!seq(&spec["groups"]).is_empty(), "spec.groups");
                for group in seq(&spec["groups"]) {
                    for rule in seq(&group["rules"]) {
                        need(rule["expr"].is_string(), "rule without expr");
                        need(
                            rule["alert"].is_string() || rule["record"].is_string(),
                            "rule without alert/record",
                        );
                    }
                }
            }
            "ExternalSecret" => {
                need(
                    api == "external-secrets.io/v1beta1",
                    "apiVersion external-secrets.io/v1beta1",
                );
                need(
                    spec["secretStoreRef"]["kind"] == "ClusterSecretStore",
                    "secretStoreRef.kind",
                );
                let store = spec["secretStoreRef"]["name"].as_str().unwrap_or("");
                need(
                    stores.contains(store),
                    "secretStoreRef names no ClusterSecretStore",
                );
                need(spec["target"]["name"].is_string(), "spec.target.name");
                let data = seq(&spec["data"]);
                let from = seq(&spec["dataFrom"]);
                need(
                    !data.is_empty() || !from.is_empty(),
                    "spec.data or spec.dataFrom",
                );
                for d in data {
                    need(
                        d["secretKey"].is_string() && d["remoteRef"]["key"].is_string(),
                        "data entry",
                    );
                }
                for d in from {
                    need(d["extract"]["key"].is_string(), "dataFrom.extract.key");
                }
            }
            "ClusterSecretStore" => {
                need(
                    api == "external-secrets.io/v1beta1",
                    "apiVersion external-secrets.io/v1beta1",
                );
                let aws = &spec["provider"]["aws"];
                need(
                    aws["service"] == "SecretsManager",
                    "provider.aws.service SecretsManager",
                );
                need(aws["region"].is_string(), "provider.aws.region");
                need(
                    aws["auth"]["jwt"]["serviceAccountRef"]["name"].is_string(),
                    "IRSA serviceAccountRef",
                );
            }
            "TargetGroupBinding" => {
                need(
                    api == "elbv2.k8s.aws/v1beta1",
                    "apiVersion elbv2.k8s.aws/v1beta1",
                );
                need(spec["targetGroupARN"].is_string(), "spec.targetGroupARN");
                need(spec["targetType"] == "ip", "spec.targetType ip");
                let svc = spec["serviceRef"]["name"].as_str().unwrap_or("");
                let port = &spec["serviceRef"]["port"];
                need(
                    services.iter().any(|s| {
                        name(s) == svc
                            && namespace(s) == namespace(doc)
                            && seq(&s["spec"]["ports"]).iter().any(|p| &p["port"] == port)
                    }) || chart_service_ports.iter().any(|(ns, n, p)| {
                        *ns == namespace(doc) && *n == svc && port.as_u64() == Some(*p)
                    }),
                    "serviceRef matches no Service port",
                );
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn pod_spec(doc: &Value) -> Option<&Value> {
    match kind(doc) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some(&doc["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

#[test]
fn workloads_meet_the_security_and_reliability_baseline() {
    let docs = manifests();
    let mut problems = Vec::new();
    let secrets_made: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "ExternalSecret")
        .map(|(_, d)| {
            (
                namespace(d).to_string(),
                d["spec"]["target"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let config_maps: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "ConfigMap")
        .map(|(_, d)| (namespace(d).to_string(), name(d).to_string()))
        .collect();
    let mut workloads = BTreeSet::new();
    for (path, doc) in &docs {
        let Some(pod) = pod_spec(doc) else { continue };
        let at = format!("{} {}/{}", rel(path), kind(doc), name(doc));
        workloads.insert(name(doc).to_string());
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{at}: {what}"));
            }
        };
        let psc = &pod["securityContext"];
        need(psc["runAsNonRoot"] == true, "pod runAsNonRoot: true");
        need(
            psc["seccompProfile"]["type"] == "RuntimeDefault",
            "pod seccompProfile RuntimeDefault",
        );
        need(
            pod["serviceAccountName"].is_string(),
            "a dedicated serviceAccountName",
        );
        for c in seq(&pod["containers"]) {
            let res = &c["resources"];
            for (k, r) in [
                ("requests", "cpu"),
                ("requests", "memory"),
                ("limits", "cpu"),
                ("limits", "memory"),
            ] {
                need(
                    !res[k][r].is_null(),
                    &format!("container resources.{k}.{r}"),
                );
            }
            let csc = &c["securityContext"];
            need(
                csc["allowPrivilegeEscalation"] == false,
                "allowPrivilegeEscalation: false",
            );
            need(
                csc["readOnlyRootFilesystem"] == true,
                "readOnlyRootFilesystem: true",
            );
            need(
                seq(&csc["capabilities"]["drop"]).iter().any(|d| d == "ALL"),
                "capabilities.drop [ALL]",
            );
            if kind(doc) == "Deployment" {
                need(c["readinessProbe"].is_mapping(), "readinessProbe");
                need(c["livenessProbe"].is_mapping(), "livenessProbe");
            }
            for from in seq(&c["envFrom"]) {
                let ns = namespace(doc).to_string();
                if let Some(secret) = from["secretRef"]["name"].as_str() {
                    need(
                        secrets_made.contains(&(ns.clone(), secret.to_string())),
                        "secretRef not made by an ExternalSecret",
                    );
                }
                if let Some(cm) = from["configMapRef"]["name"].as_str() {
                    need(
                        config_maps.contains(&(ns, cm.to_string())),
                        "configMapRef names no ConfigMap",
                    );
                }
            }
        }
    }
    for w in [
        "backend",
        "agents",
        "sec-collector",
        "coinspot-collector",
        "reddit-collector",
    ] {
        if !workloads.contains(w) {
            problems.push(format!("workload {w} is missing"));
        }
    }
    let has = |k: &str, n: &str| docs.iter().any(|(_, d)| kind(d) == k && name(d) == n);
    for (k, n) in [
        ("Service", "backend"),
        ("ConfigMap", "backend-config"),
        ("TargetGroupBinding", "backend"),
        ("ServiceMonitor", "backend"),
        ("Service", "agents"),
        ("HorizontalPodAutoscaler", "agents"),
        ("ConfigMap", "agents-config"),
        ("ServiceMonitor", "agents"),
        ("ServiceMonitor", "collectors-pushgateway"),
    ] {
        if !has(k, n) {
            problems.push(format!("{k} {n} is missing"));
        }
    }

    // Namespaces: Pod Security Standards enforced, and default-deny policies.
    for (_, ns) in docs.iter().filter(|(_, d)| kind(d) == "Namespace") {
        let labels = &ns["metadata"]["labels"];
        let n = name(ns);
        let enforce = labels["pod-security.kubernetes.io/enforce"].as_str();
        if enforce.is_none() || labels["pod-security.kubernetes.io/warn"].is_null() {
            problems.push(format!("namespace {n}: Pod Security Standards labels"));
        }
        if n.starts_with("ohmc") {
            if enforce != Some("restricted") {
                problems.push(format!("namespace {n}: must enforce restricted"));
            }
            let deny = docs.iter().any(|(_, d)| {
                kind(d) == "NetworkPolicy"
                    && namespace(d) == n
                    && d["spec"]["podSelector"]
                        .as_mapping()
                        .is_some_and(|m| m.is_empty())
                    && d["spec"]["ingress"].is_null()
                    && d["spec"]["egress"].is_null()
                    && seq(&d["spec"]["policyTypes"]).len() == 2
            });
            if !deny {
                problems.push(format!(
                    "namespace {n}: no default-deny (Ingress+Egress) NetworkPolicy"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn helm_values_parse_and_helmfile_references_them() {
    for file in files_under(&monitoring().join("values"), &[".yaml"])
        .iter()
        .chain(&files_under(&monitoring().join("env"), &[".yaml"]))
    {
        assert!(yaml(file).is_mapping(), "{}: not a mapping", rel(file));
    }
    let helmfile = read(&monitoring().join("helmfile.yaml.gotmpl"));
    let re = regex::Regex::new(r"(?m)^\s*-\s*((?:values|env)/[\w.-]+\.yaml)\s*$").unwrap();
    let referenced: BTreeSet<_> = re
        .captures_iter(&helmfile)
        .map(|c| c[1].to_string())
        .collect();
    for r in &referenced {
        assert!(
            monitoring().join(r).exists(),
            "helmfile references missing {r}"
        );
    }
    for f in files_under(&monitoring().join("values"), &[".yaml"]) {
        let r = format!("values/{}", f.file_name().unwrap().to_string_lossy());
        assert!(referenced.contains(&r), "{r} is not used by the helmfile");
    }
    for chart in [
        "kube-prometheus-stack",
        "grafana/loki",
        "grafana/promtail",
        "prometheus-pushgateway",
    ] {
        assert!(
            helmfile.contains(&format!(
                "chart: {}",
                if chart.contains('/') {
                    chart.to_string()
                } else {
                    format!("prometheus-community/{chart}")
                }
            )),
            "{chart} release missing"
        );
    }
    let re_version =
        regex::Regex::new(r"(?m)^\s*chart: .+\n\s*version: \d+\.\d+\.\d+\s*$").unwrap();
    for file in [
        monitoring().join("helmfile.yaml.gotmpl"),
        repo_root().join("deploy/k8s/addons/helmfile.yaml.gotmpl"),
    ] {
        let helmfile = read(&file);
        let charts = helmfile.matches("chart:").count();
        assert!(
            charts > 0 && re_version.find_iter(&helmfile).count() == charts,
            "{}: every chart pinned",
            rel(&file)
        );
    }
    // Every environment value the monitoring helmfile templates in is defined
    // for every environment.
    let used = regex::Regex::new(r"\.Values\.([A-Za-z0-9_]+)").unwrap();
    for env in files_under(&monitoring().join("env"), &[".yaml"]) {
        let values = yaml(&env);
        for c in used.captures_iter(&helmfile) {
            assert!(
                !values[&c[1]].is_null(),
                "{} does not define {}",
                rel(&env),
                &c[1]
            );
        }
    }
    let addons = read(&repo_root().join("deploy/k8s/addons/helmfile.yaml.gotmpl"));
    for chart in [
        "external-secrets/external-secrets",
        "eks/aws-load-balancer-controller",
        "metrics-server/metrics-server",
    ] {
        assert!(
            addons.contains(&format!("chart: {chart}")),
            "add-on {chart} missing"
        );
    }
}

/// A Deployment whose only volume is ReadWriteOnce cannot roll with a surge:
/// the new pod waits for the volume the old one holds. Grafana (one replica,
/// persistent) must be recreated.
#[test]
fn grafana_with_a_read_write_once_volume_is_recreated_not_rolled() {
    let values = yaml(&monitoring().join("values/kube-prometheus-stack.yaml"));
    let grafana = &values["grafana"];
    let rwo = grafana["persistence"]["enabled"].as_bool() == Some(true)
        && seq(&grafana["persistence"]["accessModes"])
            .iter()
            .any(|m| m.as_str() == Some("ReadWriteOnce"));
    assert!(
        rwo,
        "the test expects Grafana's persistent ReadWriteOnce volume"
    );
    assert_eq!(
        grafana["deploymentStrategy"]["type"].as_str(),
        Some("Recreate"),
        "Grafana's RWO volume deadlocks a RollingUpdate"
    );
}
