#!/usr/bin/env bash
# Deploys Oh My Coins application images to an environment's EKS cluster:
# set the image, wait for the rollout, smoke-test, and roll back automatically
# when any of that fails.
#
#   scripts/deploy.sh --env staging --image-tag 3f2a9c1
#   scripts/deploy.sh --env production --image-tag 3f2a9c1 --component backend
#   scripts/deploy.sh --env staging --image-tag 3f2a9c1 --apply-manifests
#   scripts/deploy.sh --env staging --monitoring          # monitoring stack only
#
# Options:
#   --env ENV             staging or production (required)
#   --image-tag TAG       image tag in ECR, normally the application commit SHA
#   --component C         all (default), backend, agents or collectors
#   --apply-manifests     render deploy/k8s with the environment's values and
#                         apply it before setting images (first deploy, or
#                         after a manifest change)
#   --monitoring          apply deploy/monitoring (manifests, then helmfile)
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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVIRONMENT=""
IMAGE_TAG=""
COMPONENT="all"
APPLY_MANIFESTS=0
MONITORING=0
ROLLBACK=1
TIMEOUT="10m"

log() { printf 'deploy: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:-}"; shift 2 ;;
    --image-tag) IMAGE_TAG="${2:-}"; shift 2 ;;
    --component) COMPONENT="${2:-}"; shift 2 ;;
    --apply-manifests) APPLY_MANIFESTS=1; shift ;;
    --monitoring) MONITORING=1; shift ;;
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
hcl_string() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$ENV_HCL" | head -n1; }

AWS_ACCOUNT_ID="${AWS_ACCOUNT_ID:-$(hcl_string account_id)}"
AWS_REGION="${AWS_REGION:-$(hcl_string region)}"
ECR_REGISTRY="${ECR_REGISTRY:-$AWS_ACCOUNT_ID.dkr.ecr.$AWS_REGION.amazonaws.com}"
# The first of verify.domain_names, e.g. staging.ohmycoins.io.
DOMAIN="${DOMAIN:-$(sed -n 's/^[[:space:]]*domain_names[[:space:]]*=[[:space:]]*\["\([^"]*\)".*/\1/p' "$ENV_HCL" | head -n1)}"
SMOKE_URL="${SMOKE_URL:-https://api.$DOMAIN/api/v1/utils/health-check/}"
export ENVIRONMENT AWS_ACCOUNT_ID AWS_REGION ECR_REGISTRY DOMAIN IMAGE_TAG

# A stack output by name, from `ohmc-infra output ENV --format json`, wherever
# it sits in the document and whether or not it is wrapped in {"value": ...}.
stack_output() {
  command -v jq >/dev/null || die "jq is required to read stack outputs"
  ohmc-infra output "$ENVIRONMENT" --format json \
    | jq -er --arg k "$1" '[.. | objects | select(has($k)) | .[$k] | if type == "object" then .value else . end] | first'
}

# Renders manifests with only the listed variables substituted, so a literal
# `$` anywhere else in a manifest is left alone.
render() {
  command -v envsubst >/dev/null || die "envsubst (gettext-base) is required"
  # envsubst's list of variables to substitute, not a shell expansion.
  # shellcheck disable=SC2016
  local vars='${ENVIRONMENT} ${AWS_ACCOUNT_ID} ${AWS_REGION} ${ECR_REGISTRY} ${IMAGE_TAG} ${DOMAIN} ${VPC_CIDR} ${BACKEND_TARGET_GROUP_ARN} ${ALB_SECURITY_GROUP_ID}'
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

if [[ "$MONITORING" -eq 1 ]]; then
  command -v helmfile >/dev/null || die "helmfile is required for --monitoring"
  log "applying deploy/monitoring to $ENVIRONMENT"
  apply_dir "$ROOT/deploy/monitoring/manifests/namespace.yaml"
  apply_dir "$ROOT/deploy/monitoring/manifests"
  helmfile --file "$ROOT/deploy/monitoring/helmfile.yaml.gotmpl" --environment "$ENVIRONMENT" apply
  [[ -z "$IMAGE_TAG" ]] && exit 0
fi

if [[ "$APPLY_MANIFESTS" -eq 1 ]]; then
  VPC_CIDR="${VPC_CIDR:-$(stack_output vpc_cidr_block)}"
  BACKEND_TARGET_GROUP_ARN="${BACKEND_TARGET_GROUP_ARN:-$(stack_output backend_target_group_arn)}"
  ALB_SECURITY_GROUP_ID="${ALB_SECURITY_GROUP_ID:-$(stack_output alb_security_group_id)}"
  export VPC_CIDR BACKEND_TARGET_GROUP_ARN ALB_SECURITY_GROUP_ID
  log "applying deploy/k8s to $ENVIRONMENT"
  apply_dir "$ROOT/deploy/k8s/base"
  apply_dir "$ROOT/deploy/k8s/network-policies"
  for dir in backend agents collectors; do
    apply_dir "$ROOT/deploy/k8s/$dir"
  done
fi

deployments=()
cronjobs=()
if [[ "$COMPONENT" == all || "$COMPONENT" == backend ]]; then deployments+=(backend); fi
if [[ "$COMPONENT" == all || "$COMPONENT" == agents ]]; then deployments+=(agents); fi
if [[ "$COMPONENT" == all || "$COMPONENT" == collectors ]]; then
  cronjobs+=(sec-collector coinspot-collector reddit-collector)
fi

# Components whose image has been changed so far: only these are rolled back
# (undoing a Deployment that was never changed would take it a release back).
changed=()

rollback() {
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

cause="deploy $IMAGE_TAG by ${GITHUB_ACTOR:-${USER:-$(id -un)}} ($(date -u +%Y-%m-%dT%H:%M:%SZ))"

for name in "${deployments[@]}"; do
  log "deployment/$name -> $ECR_REGISTRY/ohmc-$name:$IMAGE_TAG"
  kubectl -n ohmc set image "deployment/$name" "$name=$ECR_REGISTRY/ohmc-$name:$IMAGE_TAG" || rollback
  changed+=("$name")
  kubectl -n ohmc annotate "deployment/$name" --overwrite "kubernetes.io/change-cause=$cause" >/dev/null
done
for name in "${cronjobs[@]}"; do
  # CronJobs have no rollout history: keep the previous image for rollback.sh.
  previous="$(kubectl -n ohmc-collectors get "cronjob/$name" \
    -o jsonpath='{.spec.jobTemplate.spec.template.spec.containers[0].image}')"
  kubectl -n ohmc-collectors annotate "cronjob/$name" --overwrite "ohmc.io/previous-image=$previous" >/dev/null
  log "cronjob/$name -> $ECR_REGISTRY/ohmc-collectors:$IMAGE_TAG"
  kubectl -n ohmc-collectors set image "cronjob/$name" "collector=$ECR_REGISTRY/ohmc-collectors:$IMAGE_TAG" || rollback
  [[ " ${changed[*]} " == *" collectors "* ]] || changed+=(collectors)
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

log "deployed $IMAGE_TAG ($COMPONENT) to $ENVIRONMENT"
