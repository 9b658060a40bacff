#!/usr/bin/env bash
# Deploys Oh My Coins application images to an environment's EKS cluster:
# set the image, wait for the rollout, smoke-test, and roll back automatically
# when any of that fails.
#
#   scripts/deploy.sh --env staging --image-tag 3f2a9c1
#   scripts/deploy.sh --env production --image-tag 3f2a9c1 --component backend
#   scripts/deploy.sh --env staging --image-tag 3f2a9c1 --apply-manifests
#   scripts/deploy.sh --env staging --monitoring          # monitoring stack only
#   scripts/deploy.sh --env staging --bootstrap --image-tag 3f2a9c1   # fresh cluster
#   scripts/deploy.sh --env production --image-tag 3f2a9c1 --promote-from staging
#
# Options:
#   --env ENV             staging or production (required)
#   --image-tag TAG       image tag in ECR, normally the application commit SHA
#   --component C         all (default), backend, agents or collectors
#   --apply-manifests     render deploy/k8s with the environment's values and
#                         apply it before setting images (first deploy, or
#                         after a manifest change)
#   --monitoring          apply deploy/monitoring (manifests, then helmfile)
#   --bootstrap           a fresh cluster: every BOOTSTRAP_STEPS entry in order
#                         (add-ons and CRDs, then the manifests that use them),
#                         then the image rollout
#   --promote-from ENV    copy the images of --image-tag from ENV's registry
#                         (where CI pushed and ENV tested them) into this
#                         environment's registry before rolling out
#   --no-rollback         leave a failed rollout in place, for debugging
#   --timeout DURATION    rollout timeout (default 10m)
#
# The kubectl context must point at the cluster ohmc-ENV (aws eks
# update-kubeconfig --name ohmc-ENV). Account and region come from
# environments/ENV/environment.hcl; VPC CIDR, target group and ALB security
# group from `ohmc-infra output ENV --format json`, unless already set in the
# environment. Exit: 0 deployed, 1 failed and rolled back (or nothing to roll
# back), 2 usage error, 3 failed and the rollback failed too.
set -euo pipefail

# The order a fresh cluster comes up in; tests/it/wiring.rs checks that every
# manifest is applied by one entry, after the helmfile whose release installs
# the CRDs it uses (ServiceMonitor, PrometheusRule, ExternalSecret,
# TargetGroupBinding), and that helmfile releases `needs:` their CRDs' owner.
BOOTSTRAP_STEPS=(
  "helmfile deploy/k8s/addons/helmfile.yaml.gotmpl"
  "manifests deploy/k8s/base"
  "manifests deploy/monitoring/manifests"
  "helmfile deploy/monitoring/helmfile.yaml.gotmpl"
  "manifests deploy/k8s/network-policies"
  "manifests deploy/k8s/backend"
  "manifests deploy/k8s/agents"
  "manifests deploy/k8s/collectors"
  "manifests deploy/audit/kubernetes"
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVIRONMENT=""
IMAGE_TAG=""
COMPONENT="all"
APPLY_MANIFESTS=0
MONITORING=0
BOOTSTRAP=0
PROMOTE_FROM=""
PROMOTE_ONLY=0
ROLLBACK=1
TIMEOUT="10m"

log() { printf 'deploy: %s\n' "$*" >&2; }
die() { log "$*"; finished=1; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:-}"; shift 2 ;;
    --image-tag) IMAGE_TAG="${2:-}"; shift 2 ;;
    --component) COMPONENT="${2:-}"; shift 2 ;;
    --apply-manifests) APPLY_MANIFESTS=1; shift ;;
    --monitoring) MONITORING=1; shift ;;
    --bootstrap) BOOTSTRAP=1; shift ;;
    --promote-from) PROMOTE_FROM="${2:-}"; shift 2 ;;
    --promote-only) PROMOTE_ONLY=1; shift ;;
    --no-rollback) ROLLBACK=0; shift ;;
    --timeout) TIMEOUT="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

case "$ENVIRONMENT" in
  staging|production) ;;
  *) die "--env must be staging or production" ;;
esac
case "$COMPONENT" in
  all|backend|agents|collectors) ;;
  *) die "--component must be all, backend, agents or collectors" ;;
esac
if [[ "$MONITORING" -eq 0 && -z "$IMAGE_TAG" ]]; then
  die "--image-tag is required"
fi
case "$PROMOTE_FROM" in
  "") ;;
  staging|production) [[ "$PROMOTE_FROM" != "$ENVIRONMENT" ]] || die "--promote-from must name another environment" ;;
  *) die "--promote-from must be staging or production" ;;
esac
if [[ -n "$IMAGE_TAG" && ! "$IMAGE_TAG" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]]; then
  die "--image-tag is not a valid image tag: $IMAGE_TAG"
fi

for cmd in kubectl curl; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done

# Refuse to deploy into the wrong cluster.
context="$(kubectl config current-context)"
if [[ "$context" != *"ohmc-$ENVIRONMENT"* ]]; then
  die "kubectl context '$context' is not the ohmc-$ENVIRONMENT cluster"
fi

ENV_HCL="$ROOT/environments/$ENVIRONMENT/environment.hcl"
[[ -f "$ENV_HCL" ]] || die "missing $ENV_HCL"
# hcl_string KEY [FILE]: the first `KEY = "value"` of an environment.hcl.
hcl_string() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "${2:-$ENV_HCL}" | head -n1; }

AWS_ACCOUNT_ID="${AWS_ACCOUNT_ID:-$(hcl_string account_id)}"
AWS_REGION="${AWS_REGION:-$(hcl_string region)}"
ECR_REGISTRY="${ECR_REGISTRY:-$AWS_ACCOUNT_ID.dkr.ecr.$AWS_REGION.amazonaws.com}"
# The first of verify.domain_names, e.g. staging.ohmycoins.io.
DOMAIN="${DOMAIN:-$(sed -n 's/^[[:space:]]*domain_names[[:space:]]*=[[:space:]]*\["\([^"]*\)".*/\1/p' "$ENV_HCL" | head -n1)}"
SMOKE_URL="${SMOKE_URL:-https://api.$DOMAIN/api/v1/utils/health-check/}"
# The audit image is built from this repository (build-audit), tagged with its commit.
AUDIT_IMAGE_TAG="${AUDIT_IMAGE_TAG:-$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || true)}"
export ENVIRONMENT AWS_ACCOUNT_ID AWS_REGION ECR_REGISTRY DOMAIN IMAGE_TAG AUDIT_IMAGE_TAG

# A stack output by name, from `ohmc-infra output ENV --format json`, wherever
# it sits in the document and whether or not it is wrapped in {"value": ...};
# with an index, that element of a list output.
stack_output() {
  command -v jq >/dev/null || die "jq is required to read stack outputs"
  ohmc-infra output "$ENVIRONMENT" --format json \
    | jq -er --arg k "$1" --arg i "${2:-}" '[.. | objects | select(has($k)) | .[$k] | if type == "object" and has("value") then .value else . end] | first | if $i == "" then . else .[$i | tonumber] end'
}

# Renders manifests with only the listed variables substituted, so a literal
# `$` anywhere else in a manifest is left alone.
render() {
  command -v envsubst >/dev/null || die "envsubst (gettext-base) is required"
  # envsubst's list of variables to substitute, not a shell expansion.
  # shellcheck disable=SC2016
  local vars='${ENVIRONMENT} ${AWS_ACCOUNT_ID} ${AWS_REGION} ${ECR_REGISTRY} ${IMAGE_TAG} ${AUDIT_IMAGE_TAG} ${DOMAIN} ${VPC_CIDR} ${BACKEND_TARGET_GROUP_ARN} ${ALB_SECURITY_GROUP_ID} ${ALB_SUBNET_CIDR_A} ${ALB_SUBNET_CIDR_B} ${ALB_SUBNET_CIDR_C} ${GRAFANA_TARGET_GROUP_ARN} ${GRAFANA_ALB_SECURITY_GROUP_ID}'
  local file
  while IFS= read -r file; do
    printf -- '---\n'
    envsubst "$vars" <"$file"
    printf '\n'
  done
}

apply_dir() {
  find "$@" -name '*.yaml' | sort | render | kubectl apply -f -
}

helmfile_apply() {
  command -v helmfile >/dev/null || die "helmfile is required"
  helmfile --file "$ROOT/$1" --environment "$ENVIRONMENT" apply
}

# The application manifests carry ${IMAGE_TAG}: applying a component's folder
# re-images it, so only the components being deployed are applied.
component_selected() { [[ "$COMPONENT" == all || "$COMPONENT" == "$1" ]]; }

# Runs BOOTSTRAP_STEPS entries whose path starts with one of the prefixes.
run_steps() {
  local step kind path prefix
  for step in "${BOOTSTRAP_STEPS[@]}"; do
    kind="${step%% *}"
    path="${step#* }"
    for prefix in "$@"; do
      [[ "$path" == "$prefix"* ]] || continue
      case "$path" in
        deploy/k8s/backend|deploy/k8s/agents|deploy/k8s/collectors)
          component_selected "${path##*/}" || { log "skipping $path (--component $COMPONENT)"; continue 2; } ;;
      esac
      log "$kind $path"
      case "$kind:$path" in
        helmfile:*) helmfile_apply "$path" ;;
        manifests:deploy/audit/kubernetes)
          apply_dir "$ROOT/$path/namespace.yaml"
          audit_outputs
          apply_dir "$ROOT/$path" ;;
        manifests:*) apply_dir "$ROOT/$path" ;;
      esac
    done
  done
}

# The in-cluster audit reads this environment's stack outputs from a ConfigMap
# (deploy/audit/kubernetes/cronjob.yaml), so it needs no state access.
audit_outputs() {
  local dir
  dir="$(mktemp -d)"
  ohmc-infra output "$ENVIRONMENT" --format json >"$dir/$ENVIRONMENT.json"
  kubectl -n ohmc-compliance create configmap compliance-audit-outputs \
    --from-file="$ENVIRONMENT.json=$dir/$ENVIRONMENT.json" --dry-run=client -o yaml | kubectl apply -f -
  rm -rf "$dir"
}

# Stack outputs the manifests and helmfiles are rendered with.
load_outputs() {
  VPC_ID="${VPC_ID:-$(stack_output vpc_id)}"
  VPC_CIDR="${VPC_CIDR:-$(stack_output vpc_cidr_block)}"
  BACKEND_TARGET_GROUP_ARN="${BACKEND_TARGET_GROUP_ARN:-$(stack_output backend_target_group_arn)}"
  ALB_SECURITY_GROUP_ID="${ALB_SECURITY_GROUP_ID:-$(stack_output alb_security_group_id)}"
  # The public ALB's nodes live in the three public subnets: the only sources
  # the backend NetworkPolicy admits on its port.
  ALB_SUBNET_CIDR_A="${ALB_SUBNET_CIDR_A:-$(stack_output public_subnet_cidr_blocks 0)}"
  ALB_SUBNET_CIDR_B="${ALB_SUBNET_CIDR_B:-$(stack_output public_subnet_cidr_blocks 1)}"
  ALB_SUBNET_CIDR_C="${ALB_SUBNET_CIDR_C:-$(stack_output public_subnet_cidr_blocks 2)}"
  GRAFANA_TARGET_GROUP_ARN="${GRAFANA_TARGET_GROUP_ARN:-$(stack_output grafana_target_group_arn)}"
  GRAFANA_ALB_SECURITY_GROUP_ID="${GRAFANA_ALB_SECURITY_GROUP_ID:-$(stack_output grafana_alb_security_group_id)}"
  export VPC_ID VPC_CIDR BACKEND_TARGET_GROUP_ARN ALB_SECURITY_GROUP_ID ALB_SUBNET_CIDR_A ALB_SUBNET_CIDR_B ALB_SUBNET_CIDR_C \
    GRAFANA_TARGET_GROUP_ARN GRAFANA_ALB_SECURITY_GROUP_ID
}

deployments=()
cronjobs=()
if component_selected backend; then deployments+=(backend); fi
if component_selected agents; then deployments+=(agents); fi
if component_selected collectors; then
  cronjobs+=(sec-collector coinspot-collector reddit-collector)
fi

# Components whose image has been changed so far: only these are rolled back
# (undoing a Deployment that was never changed would take it a release back).
changed=()
finished=0

rollback() {
  trap - EXIT
  if [[ ${#changed[@]} -eq 0 ]]; then
    log "nothing was changed; nothing to roll back"
    exit 1
  fi
  if [[ "$ROLLBACK" -eq 0 ]]; then
    log "--no-rollback: leaving the failed rollout of ${changed[*]} in place"
    exit 1
  fi
  local component status=1
  for component in "${changed[@]}"; do
    log "rolling back $component in $ENVIRONMENT"
    "$ROOT/scripts/rollback.sh" --env "$ENVIRONMENT" --component "$component" || status=3
  done
  if [[ "$status" -eq 3 ]]; then
    log "ROLLBACK FAILED: $ENVIRONMENT needs a human (runbooks/PRODUCTION_RUNBOOK.md#rollback)"
  else
    log "rolled back; the deploy of $IMAGE_TAG failed"
  fi
  exit "$status"
}

# Any command failing under `set -e` (a failed get or annotate, a signal from a
# cancelled job) ends here too: what was changed is rolled back.
on_exit() {
  local status=$?
  [[ "$finished" -eq 1 ]] && return
  log "failed (exit $status) before the deploy finished"
  rollback
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Copies the images of IMAGE_TAG from PROMOTE_FROM's registry into this one.
# Tags are immutable: an image already promoted is left as it is.
promote() {
  local src_hcl="$ROOT/environments/$PROMOTE_FROM/environment.hcl" src_registry repo
  [[ -f "$src_hcl" ]] || die "missing $src_hcl"
  for cmd in aws docker; do command -v "$cmd" >/dev/null || die "$cmd is required for --promote-from"; done
  src_registry="$(hcl_string account_id "$src_hcl").dkr.ecr.$(hcl_string region "$src_hcl").amazonaws.com"
  aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$src_registry" >/dev/null
  aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$ECR_REGISTRY" >/dev/null
  local repos=()
  for name in "${deployments[@]}"; do repos+=("ohmc-$name"); done
  [[ ${#cronjobs[@]} -gt 0 ]] && repos+=(ohmc-collectors)
  for repo in "${repos[@]}"; do
    if aws ecr describe-images --region "$AWS_REGION" --repository-name "$repo" --image-ids "imageTag=$IMAGE_TAG" >/dev/null 2>&1; then
      log "$repo:$IMAGE_TAG is already in $ECR_REGISTRY"
      continue
    fi
    log "promoting $repo:$IMAGE_TAG from $PROMOTE_FROM ($src_registry)"
    docker buildx imagetools create --tag "$ECR_REGISTRY/$repo:$IMAGE_TAG" "$src_registry/$repo:$IMAGE_TAG"
  done
}

if [[ "$BOOTSTRAP" -eq 1 || "$MONITORING" -eq 1 || "$APPLY_MANIFESTS" -eq 1 ]]; then
  load_outputs
fi

# The collectors' current images, recorded before anything (manifests
# included) can change them.
declare -A previous_image=()
for name in "${cronjobs[@]}"; do
  previous_image[$name]="$(kubectl -n ohmc-collectors get "cronjob/$name" --ignore-not-found \
    -o jsonpath='{.spec.jobTemplate.spec.template.spec.containers[0].image}')"
done

if [[ -n "$PROMOTE_FROM" && -n "$IMAGE_TAG" ]]; then
  promote
fi
if [[ "$PROMOTE_ONLY" -eq 1 ]]; then
  [[ -n "$PROMOTE_FROM" ]] || die "--promote-only needs --promote-from"
  finished=1
  exit 0
fi

if [[ "$BOOTSTRAP" -eq 1 ]]; then
  log "bootstrapping $ENVIRONMENT"
  run_steps deploy/
elif [[ "$MONITORING" -eq 1 ]]; then
  log "applying deploy/monitoring to $ENVIRONMENT"
  run_steps deploy/monitoring/
fi
if [[ -z "$IMAGE_TAG" ]]; then
  finished=1
  exit 0
fi

# Deployments record their own history (rollout undo); CronJobs keep the
# previous image in an annotation for rollback.sh.
for name in "${cronjobs[@]}"; do
  if [[ -n "${previous_image[$name]}" ]]; then
    kubectl -n ohmc-collectors annotate "cronjob/$name" --overwrite "ohmc.io/previous-image=${previous_image[$name]}" >/dev/null
  fi
done

if [[ "$APPLY_MANIFESTS" -eq 1 && "$BOOTSTRAP" -eq 0 ]]; then
  log "applying deploy/k8s to $ENVIRONMENT"
  for name in "${deployments[@]}"; do changed+=("$name"); done
  [[ ${#cronjobs[@]} -gt 0 ]] && changed+=(collectors)
  run_steps deploy/k8s/base deploy/k8s/network-policies deploy/k8s/backend deploy/k8s/agents deploy/k8s/collectors
fi

cause="deploy $IMAGE_TAG by ${GITHUB_ACTOR:-${USER:-$(id -un)}} ($(date -u +%Y-%m-%dT%H:%M:%SZ))"

for name in "${deployments[@]}"; do
  log "deployment/$name -> $ECR_REGISTRY/ohmc-$name:$IMAGE_TAG"
  [[ " ${changed[*]} " == *" $name "* ]] || changed+=("$name")
  kubectl -n ohmc set image "deployment/$name" "$name=$ECR_REGISTRY/ohmc-$name:$IMAGE_TAG" || rollback
  kubectl -n ohmc annotate "deployment/$name" --overwrite "kubernetes.io/change-cause=$cause" >/dev/null || rollback
done
for name in "${cronjobs[@]}"; do
  log "cronjob/$name -> $ECR_REGISTRY/ohmc-collectors:$IMAGE_TAG"
  [[ " ${changed[*]} " == *" collectors "* ]] || changed+=(collectors)
  kubectl -n ohmc-collectors set image "cronjob/$name" "collector=$ECR_REGISTRY/ohmc-collectors:$IMAGE_TAG" || rollback
done

for name in "${deployments[@]}"; do
  log "waiting for deployment/$name (timeout $TIMEOUT)"
  kubectl -n ohmc rollout status "deployment/$name" --timeout="$TIMEOUT" || rollback
done

# Smoke tests: the public health check through ALB and WAF, then one real
# collector run when the collectors changed.
if [[ " ${deployments[*]} " == *" backend "* ]]; then
  log "smoke test: $SMOKE_URL"
  ok=0
  for _ in 1 2 3 4 5 6; do
    if curl -fsS --max-time 10 "$SMOKE_URL" >/dev/null; then ok=1; break; fi
    sleep 10
  done
  [[ "$ok" -eq 1 ]] || { log "smoke test failed: $SMOKE_URL"; rollback; }
fi
if [[ " ${deployments[*]} " == *" agents "* ]]; then
  log "smoke test: agents readiness"
  kubectl -n ohmc exec deployment/agents -- \
    python -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8001/health/ready", timeout=10)' \
    || { log "smoke test failed: agents"; rollback; }
fi
if [[ ${#cronjobs[@]} -gt 0 ]]; then
  job="coinspot-collector-smoke-$(date +%s)"
  log "smoke test: job/$job from cronjob/coinspot-collector"
  kubectl -n ohmc-collectors create job "$job" --from=cronjob/coinspot-collector >/dev/null || rollback
  kubectl -n ohmc-collectors wait "job/$job" --for=condition=complete --timeout=5m \
    || { log "smoke test failed: job/$job"; rollback; }
fi

finished=1
log "deployed $IMAGE_TAG ($COMPONENT) to $ENVIRONMENT"
