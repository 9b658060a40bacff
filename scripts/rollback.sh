#!/usr/bin/env bash
# Rolls Oh My Coins application workloads back to their previous release.
#
#   scripts/rollback.sh --env production                     # everything
#   scripts/rollback.sh --env production --component backend
#   scripts/rollback.sh --env production --component backend --to-revision 41
#
# Deployments go back with `kubectl rollout undo` (to the previous revision,
# or --to-revision N from `kubectl -n ohmc rollout history deployment/NAME`)
# and are waited for. Collector CronJobs go back to the image recorded in
# their ohmc.io/previous-image annotation by scripts/deploy.sh.
# Exit: 0 rolled back, 1 a rollback failed, 2 usage error.
set -euo pipefail

ENVIRONMENT=""
COMPONENT="all"
REVISION=""
TIMEOUT="10m"

log() { printf 'rollback: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:-}"; shift 2 ;;
    --component) COMPONENT="${2:-}"; shift 2 ;;
    --to-revision) REVISION="${2:-}"; shift 2 ;;
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
if [[ -n "$REVISION" ]]; then
  [[ "$REVISION" =~ ^[0-9]+$ ]] || die "--to-revision must be a number"
  [[ "$COMPONENT" == backend || "$COMPONENT" == agents ]] || die "--to-revision needs --component backend or agents"
fi

command -v kubectl >/dev/null || die "kubectl is required"
context="$(kubectl config current-context)"
if [[ "$context" != *"ohmc-$ENVIRONMENT"* ]]; then
  die "kubectl context '$context' is not the ohmc-$ENVIRONMENT cluster"
fi

failed=0
deployments=()
if [[ "$COMPONENT" == all || "$COMPONENT" == backend ]]; then deployments+=(backend); fi
if [[ "$COMPONENT" == all || "$COMPONENT" == agents ]]; then deployments+=(agents); fi

for name in "${deployments[@]}"; do
  args=()
  [[ -n "$REVISION" ]] && args+=("--to-revision=$REVISION")
  log "deployment/$name: rollout undo ${args[*]:-}"
  if kubectl -n ohmc rollout undo "deployment/$name" "${args[@]}" \
     && kubectl -n ohmc rollout status "deployment/$name" --timeout="$TIMEOUT"; then
    log "deployment/$name: now $(kubectl -n ohmc get "deployment/$name" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  else
    log "deployment/$name: rollback FAILED"
    failed=1
  fi
done

if [[ "$COMPONENT" == all || "$COMPONENT" == collectors ]]; then
  for name in sec-collector coinspot-collector reddit-collector; do
    previous="$(kubectl -n ohmc-collectors get "cronjob/$name" \
      -o jsonpath='{.metadata.annotations.ohmc\.io/previous-image}')"
    if [[ -z "$previous" ]]; then
      log "cronjob/$name: no ohmc.io/previous-image recorded, left as is"
      continue
    fi
    log "cronjob/$name -> $previous"
    kubectl -n ohmc-collectors set image "cronjob/$name" "collector=$previous" || failed=1
  done
fi

exit "$failed"
