#!/usr/bin/env bash
# Runs every test: installs the pinned test peers (an SMTP server from PyPI, the OpenID
# provider from npm, Debian's chromium and the browser driver from npm) if missing, then
# `cargo test --workspace`. Extra arguments go to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo "test.sh: installing aiosmtpd (tests/support/requirements.txt)" >&2
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/support/requirements.txt
fi
if [ ! -d tests/idp/node_modules/oidc-provider ]; then
  echo "test.sh: installing the test OpenID provider (tests/idp, npm ci)" >&2
  (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "test.sh: installing Debian's chromium for the browser tests (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "test.sh: installing the browser test driver (tests/browser, npm ci)" >&2
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

exec cargo test --workspace "$@"
