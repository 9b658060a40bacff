//! Entry points: how traffic reaches a pod, across Terraform (load
//! balancers, listeners, sign-in, certificates, subnets), deploy.sh (which
//! stack output fills which placeholder) and the manifests
//! (TargetGroupBindings, NetworkPolicies, Helm values).

use serde_yaml::Value;

use super::checks::deploy_sh_outputs;
use super::deploy::Manifest;
use super::model::{EnvModel, Platform};
use super::tf::{Instance, V};

/// The stack output a `${NAME}` placeholder is filled from by deploy.sh, and
/// its value in this environment.
pub(crate) fn placeholder_output(p: &Platform, env: &EnvModel, text: &str) -> Option<(String, V)> {
    let ph = regex::Regex::new(r"^\$\{([A-Z_]+)\}$").unwrap();
    let name = ph.captures(text)?.get(1)?.as_str().to_owned();
    let (output, index) = deploy_sh_outputs(p)
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, o)| o)
        .map(|o| match o.split_once(' ') {
            Some((o, i)) => (o.to_owned(), i.parse::<usize>().ok()),
            None => (o, None),
        })?;
    let value = env
        .tf
        .stacks
        .iter()
        .map(|s| env.tf.outputs(&s.name).get(&output).clone())
        .find(|v| *v != V::Null)?;
    let value = match index {
        Some(i) => value
            .items()
            .get(i)
            .map(|v| (*v).clone())
            .unwrap_or(V::Null),
        None => value,
    };
    Some((output, value))
}

/// The Terraform target group a TargetGroupBinding registers pods in.
pub(crate) fn binding_target_group(
    p: &Platform,
    env: &EnvModel,
    tgb: &Manifest,
) -> Result<Instance, String> {
    let arn = tgb.doc["spec"]["targetGroupARN"].as_str().unwrap_or("");
    let (output, value) = placeholder_output(p, env, arn)
        .ok_or_else(|| format!("target group {arn} is not a stack output deploy.sh fills in"))?;
    value
        .str()
        .and_then(|a| {
            env.instances("aws_lb_target_group")
                .into_iter()
                .find(|t| t.attrs.get("arn").str() == Some(a))
        })
        .ok_or_else(|| format!("stack output {output} is not a target group Terraform creates"))
}

fn actions(listener: &Instance) -> Vec<V> {
    let mut list: Vec<V> = listener
        .attrs
        .get("default_action")
        .items()
        .into_iter()
        .cloned()
        .collect();
    let order = |a: &V| match a.get("order") {
        V::Num(n) => *n,
        _ => f64::MAX,
    };
    list.sort_by(|a, b| order(a).total_cmp(&order(b)));
    list
}

/// Grafana is reachable: a TargetGroupBinding registers the Grafana chart's
/// Service in a Terraform target group, forwarded to by an HTTPS listener of
/// an internal load balancer that signs the user in (Cognito or OIDC) before
/// it forwards, with a certificate for the host Grafana's root_url names, a
/// DNS record for that host, and a sign-in client whose callback is that host.
pub(crate) fn check_grafana_access(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        let Some(stack) = env
            .releases
            .iter()
            .find(|r| r.chart_name() == "kube-prometheus-stack")
        else {
            continue;
        };
        let service = format!("{}-grafana", stack.name);
        let at = format!(
            "{}: Grafana (Service {}/{service})",
            env.name, stack.namespace
        );
        let root_url = stack.values["grafana"]["grafana.ini"]["server"]["root_url"]
            .as_str()
            .unwrap_or("");
        let host = root_url
            .strip_prefix("https://")
            .map(|h| h.trim_end_matches('/').to_owned());
        let Some(host) = host else {
            problems.push(format!(
                "{at}: grafana.ini server.root_url {root_url:?} is not an https:// address"
            ));
            continue;
        };
        let binding = env.manifests.iter().find(|m| {
            m.kind() == "TargetGroupBinding"
                && m.namespace() == stack.namespace
                && m.doc["spec"]["serviceRef"]["name"].as_str() == Some(service.as_str())
        });
        let Some(binding) = binding else {
            problems.push(format!(
                "{at}: no TargetGroupBinding registers it in a load balancer: Grafana is unreachable"
            ));
            continue;
        };
        let tg = match binding_target_group(p, env, binding) {
            Ok(tg) => tg,
            Err(e) => {
                problems.push(format!("{at}: TargetGroupBinding {}: {e}", binding.name()));
                continue;
            }
        };
        let tg_arn = tg.attrs.get("arn").str().unwrap_or("").to_owned();
        let listener = env.instances("aws_lb_listener").into_iter().find(|l| {
            actions(l)
                .iter()
                .any(|a| a.get("target_group_arn").str() == Some(tg_arn.as_str()))
        });
        let Some(listener) = listener else {
            problems.push(format!(
                "{at}: no listener forwards to its target group {}",
                tg.address
            ));
            continue;
        };
        let lb = env.instances("aws_lb").into_iter().find(|lb| {
            lb.attrs.get("arn").str().is_some()
                && lb.attrs.get("arn") == listener.attrs.get("load_balancer_arn")
        });
        match lb.as_ref().map(|lb| lb.attrs.get("internal")) {
            Some(V::Bool(true)) => {}
            Some(_) => problems.push(format!(
                "{at}: its load balancer {} is internet-facing",
                lb.as_ref().unwrap().address
            )),
            None => problems.push(format!(
                "{at}: listener {} belongs to no load balancer Terraform creates",
                listener.address
            )),
        }
        if listener.attrs.get("protocol").str() != Some("HTTPS") {
            problems.push(format!("{at}: listener {} is not HTTPS", listener.address));
        }
        // The certificate the listener serves is issued for Grafana's host.
        let cert_arn = listener.attrs.get("certificate_arn").clone();
        // (aws_acm_certificate_validation passes the certificate's ARN on.)
        let cert = env
            .instances("aws_acm_certificate")
            .into_iter()
            .find(|c| *c.attrs.get("arn") == cert_arn);
        let names: Vec<String> = cert
            .as_ref()
            .map(|c| {
                let mut n = c.attrs.get("domain_name").strings();
                n.extend(c.attrs.get("subject_alternative_names").strings());
                n
            })
            .unwrap_or_default();
        if !names.contains(&host) {
            problems.push(format!(
                "{at}: listener {} serves no certificate for {host} (names {names:?})",
                listener.address
            ));
        }
        if !env
            .instances("aws_route53_record")
            .iter()
            .any(|r| r.attrs.get("name").str() == Some(host.as_str()))
        {
            problems.push(format!("{at}: no DNS record names {host}"));
        }
        // Sign-in before anything is forwarded.
        let acts = actions(&listener);
        let forward = acts
            .iter()
            .position(|a| a.get("type").str() == Some("forward"));
        let signin = acts.iter().position(|a| {
            matches!(
                a.get("type").str(),
                Some("authenticate-cognito" | "authenticate-oidc")
            )
        });
        match (signin, forward) {
            (Some(s), Some(f)) if s < f => {
                let action = &acts[s];
                if action.get("type").str() == Some("authenticate-cognito") {
                    let c = action.get("authenticate_cognito").items();
                    let c = c.first().copied().unwrap_or(&V::Null);
                    let client = env
                        .instances("aws_cognito_user_pool_client")
                        .into_iter()
                        .find(|k| k.attrs.get("id") == c.get("user_pool_client_id"));
                    let pool_ok = env
                        .instances("aws_cognito_user_pool")
                        .iter()
                        .any(|u| u.attrs.get("arn") == c.get("user_pool_arn"));
                    let domain_ok = env
                        .instances("aws_cognito_user_pool_domain")
                        .iter()
                        .any(|d| d.attrs.get("domain") == c.get("user_pool_domain"));
                    let callback = format!("https://{host}/oauth2/idpresponse");
                    match client {
                        None => problems.push(format!(
                            "{at}: its sign-in names a user pool client Terraform does not create"
                        )),
                        Some(k) if !k.attrs.get("callback_urls").strings().contains(&callback) => {
                            problems.push(format!(
                                "{at}: user pool client {} does not admit the callback {callback}",
                                k.address
                            ))
                        }
                        Some(_) => {}
                    }
                    if !pool_ok || !domain_ok {
                        problems.push(format!(
                            "{at}: its sign-in names a user pool or domain Terraform does not create"
                        ));
                    }
                }
            }
            _ => problems.push(format!(
                "{at}: listener {} forwards without signing the user in first",
                listener.address
            )),
        }
    }
    problems
}

/// The backend's port admits only the load balancer's addresses: every
/// ipBlock of a NetworkPolicy rule that admits the TargetGroupBinding's port
/// is a public subnet (where the ALB's nodes live), filled by deploy.sh from
/// the network stack's public_subnet_cidr_blocks, never the VPC (where every
/// pod lives) or anything wider.
pub(crate) fn check_backend_ingress(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    for env in &p.envs {
        for tgb in env
            .manifests
            .iter()
            .filter(|m| m.kind() == "TargetGroupBinding" && m.namespace() == "ohmc")
        {
            let ns = tgb.namespace();
            let service = tgb.doc["spec"]["serviceRef"]["name"].as_str().unwrap_or("");
            let selector = env
                .manifests
                .iter()
                .find(|m| m.kind() == "Service" && m.namespace() == ns && m.name() == service)
                .map(|s| s.doc["spec"]["selector"].clone())
                .unwrap_or(Value::Null);
            let ports: Vec<u64> = tgb.doc["spec"]["networking"]["ingress"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|i| i["ports"].as_sequence().cloned().unwrap_or_default())
                .filter_map(|p| p["port"].as_u64())
                .collect();
            let policies = env.manifests.iter().filter(|m| {
                m.kind() == "NetworkPolicy"
                    && m.namespace() == ns
                    && selector.as_mapping().is_some_and(|sel| {
                        let labels = &m.doc["spec"]["podSelector"]["matchLabels"];
                        labels.as_mapping().is_some_and(|l| {
                            !l.is_empty() && l.iter().all(|(k, v)| sel.get(k) == Some(v))
                        })
                    })
            });
            let mut admitted = false;
            for np in policies {
                for rule in np.doc["spec"]["ingress"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                {
                    let rule_ports: Vec<u64> = rule["ports"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["port"].as_u64())
                        .collect();
                    if !ports.iter().any(|p| rule_ports.contains(p)) {
                        continue;
                    }
                    for peer in rule["from"].as_sequence().into_iter().flatten() {
                        let Some(cidr) = peer["ipBlock"]["cidr"].as_str() else {
                            continue;
                        };
                        let at = format!(
                            "{}: NetworkPolicy {ns}/{} admits port {ports:?} of TargetGroupBinding {ns}/{} from {cidr}",
                            env.name,
                            np.name(),
                            tgb.name()
                        );
                        match placeholder_output(p, env, cidr) {
                            Some((o, _)) if o == "public_subnet_cidr_blocks" => admitted = true,
                            Some((o, _)) => problems.push(format!(
                                "{at}: stack output {o}, not the public subnets the ALB lives in"
                            )),
                            None => problems.push(format!(
                                "{at}: not a public subnet deploy.sh fills in from public_subnet_cidr_blocks"
                            )),
                        }
                    }
                }
            }
            if !admitted {
                problems.push(format!(
                    "{}: TargetGroupBinding {ns}/{}: no NetworkPolicy admits the ALB's subnets on {ports:?}",
                    env.name,
                    tgb.name()
                ));
            }
        }
        // Every public subnet: the ALB may take addresses in each AZ.
        let count = env
            .tf
            .stacks
            .iter()
            .map(|s| {
                env.tf
                    .outputs(&s.name)
                    .get("public_subnet_cidr_blocks")
                    .clone()
            })
            .find(|v| *v != V::Null)
            .map(|v| v.items().len())
            .unwrap_or(0);
        let filled: Vec<usize> = deploy_sh_outputs(p)
            .values()
            .filter_map(|o| o.strip_prefix("public_subnet_cidr_blocks "))
            .filter_map(|i| i.parse().ok())
            .collect();
        if count > 0 && (0..count).any(|i| !filled.contains(&i)) {
            problems.push(format!(
                "{}: deploy.sh fills {} of the {count} public subnets' CIDR blocks",
                env.name,
                filled.len()
            ));
        }
    }
    problems
}
