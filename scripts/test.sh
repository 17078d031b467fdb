#!/usr/bin/env bash
# Runs every test: installs the pinned test peers (an SMTP server from PyPI, the API fuzzer
# schemathesis from PyPI into tests/support/.venv, the OpenID provider from npm, Debian's
# chromium and postgresql, the browser driver from npm) if missing, then
# `cargo test --workspace`, then every store-backed scenario again on PostgreSQL
# (AUTH_TEST_STORE=postgres). Extra arguments go to both cargo runs. The tests start their own
# throwaway PostgreSQL clusters (tests/src/pg.rs) and stop them by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo "test.sh: installing aiosmtpd (tests/support/requirements.txt)" >&2
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/support/requirements.txt
fi
# The fuzzer lives in its own venv (its pins stay out of the system Python); reinstalled when
# tests/support/requirements-fuzz.txt changes.
venv=tests/support/.venv
if ! cmp -s tests/support/requirements-fuzz.txt "$venv/requirements-fuzz.txt" || [ ! -x "$venv/bin/schemathesis" ]; then
  echo "test.sh: installing schemathesis into $venv (tests/support/requirements-fuzz.txt)" >&2
  if ! python3 -c "import ensurepip" 2>/dev/null; then
    echo "test.sh: installing Debian's python3-venv (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/support/requirements-fuzz.txt
  cp tests/support/requirements-fuzz.txt "$venv/requirements-fuzz.txt"
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
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "test.sh: installing Debian's postgresql for the store tests (apt-get)" >&2
  apt-get update -qq
  # The package's own cluster is not used (and not started where no init system runs).
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "test.sh: installing the browser test driver (tests/browser, npm ci)" >&2
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# A backstop under CI's own limit: each scenario also has its own watchdog (tests/src/lib.rs).
# The bench crate (auth-benches) is not tested, only built by .ci/run; left in, its peers'
# dependencies would turn on features (actix-web's cookies, axum's original-uri) that the second
# pass below does not, and every test binary would be built twice.
timeout --kill-after=30s 50m cargo test --workspace --exclude auth-benches "$@"

# The second pass: the same binaries (no rebuild), each scenario on a fresh PostgreSQL database.
# (store.rs and instances.rs run on PostgreSQL in the first pass; browser.rs and cli.rs drive the
# example binaries with their own configs.)
pg_suites=()
for f in tests/tests/*.rs; do
  name=$(basename "$f" .rs)
  case "$name" in store|instances|browser|cli|schemathesis|openapi) ;; *) pg_suites+=(--test "$name") ;; esac
done
AUTH_TEST_STORE=postgres timeout --kill-after=30s 30m cargo test -p auth-tests "${pg_suites[@]}" "$@"
