#!/usr/bin/env bash
# Deploys the service: every credential is read from the environment or a secret store, never written here.
set -euo pipefail

: "${DEPLOY_ENV:=staging}"
: "${AWS_REGION:=eu-west-1}"
REPO_ROOT="$(git rev-parse --show-toplevel)"
COMMIT="$(git rev-parse --short HEAD)"
IMAGE="registry.example.com/acme/billing:${COMMIT}"

log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

require() {
  local name=$1
  if [[ -z "${!name:-}" ]]; then
    log "missing ${name}; export it or run: source ~/.config/acme/env"
    exit 2
  fi
}

require GITHUB_TOKEN
require AWS_PROFILE

export DOCKER_BUILDKIT=1
TOKEN="$(aws secretsmanager get-secret-value --secret-id billing/deploy-token --query SecretString --output text)"
API_KEY=$(cat "${REPO_ROOT}/.secrets/api_key" 2>/dev/null || true)
PASSWORD_FILE="${HOME}/.config/acme/db_password"

echo "$TOKEN" | docker login registry.example.com --username deploy --password-stdin
docker build -t "$IMAGE" --build-arg COMMIT="$COMMIT" "$REPO_ROOT"
docker push "$IMAGE"

curl -fsS -H "Authorization: Bearer ${TOKEN}" \
  -H "Content-Type: application/json" \
  -d "{\"image\": \"${IMAGE}\", \"env\": \"${DEPLOY_ENV}\"}" \
  https://deploy.example.com/api/v1/releases

kubectl -n billing create secret generic db-credentials \
  --from-file=password="${PASSWORD_FILE}" --dry-run=client -o yaml | kubectl apply -f -

for pod in $(kubectl -n billing get pods -l app=billing -o name); do
  kubectl -n billing logs "$pod" --tail=20 | grep -i -E 'error|token expired|auth' || true
done

git log --oneline -5
ls -la /home/dev/project/src /home/dev/project/tests
find . -name '*.key' -path '*/fixtures/*' -print
ssh-keygen -lf ~/.ssh/id_ed25519.pub
python -m pytest -q tests/test_tokens.py -k "not slow"
log "deployed ${IMAGE} to ${DEPLOY_ENV} (token from secrets manager, key id ${API_KEY:+set})"
