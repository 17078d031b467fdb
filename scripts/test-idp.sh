#!/usr/bin/env bash
# Starts the test OpenID provider (panva/oidc-provider) on 127.0.0.1:9000 for an example app
# on 127.0.0.1:3000. Every sign-in is non-interactive, as alice@example.com (verified).
# Stop it with Ctrl-C.
#   scripts/test-idp.sh [IDP_PORT] [APP_BASE_URL]
set -euo pipefail
cd "$(dirname "$0")/../tests/idp"
port=${1:-9000}
app=${2:-http://127.0.0.1:3000}
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund --loglevel=error
exec node idp.mjs --port "$port" \
  --redirect-uri "$app/api/v1/auth/callback" \
  --post-logout-uri "$app/login" \
  --backchannel-uri "$app/api/v1/auth/backchannel-logout"
