#!/usr/bin/env bash
# The whole test suite, the way CI runs it (called by `make test`).
#
# 1. As the invoking user (root in CI): every test. Boundary tests then run the agent as the
#    unprivileged account $RINGFENCE_TEST_USER (created here when missing).
# 2. When root: the boundary tests again with ringfence itself unprivileged, as that account,
#    from a world-readable copy of the tree with a venv of the system Python (the developer's
#    venv may live under a home folder that account cannot read).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TEST_USER=${RINGFENCE_TEST_USER:-rftest}
export RINGFENCE_TEST_USER=$TEST_USER

if [ "$(id -u)" = 0 ] && ! id "$TEST_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$TEST_USER"
fi
# Rootless podman (the unprivileged phase) maps the account's subordinate ids: give it a
# range when useradd did not (an /etc/subuid that did not exist yet, an older useradd).
if [ "$(id -u)" = 0 ]; then
  for kind in uid gid; do
    if ! grep -q "^$TEST_USER:" "/etc/sub$kind" 2>/dev/null; then
      usermod "--add-sub${kind}s" 300000-365535 "$TEST_USER"
    fi
  done
fi

# Node 24 and Claude Code for the end-to-end tests (quick when already there); without them
# those tests skip, naming the reason. As root they go outside the checkout and outside /tmp
# (which is private inside every sandbox), where the test account and its sandboxes see them.
if [ "$(id -u)" = 0 ]; then
  export RINGFENCE_CLIENTS_DIR=${RINGFENCE_CLIENTS_DIR:-/var/cache/ringfence-test-clients}
fi
if [ "${RINGFENCE_NO_CLIENTS:-}" != 1 ] && ! bash tests/support/install-clients.sh; then
  echo "== WARNING: the real clients could not be installed (see above); tests that need them will skip" >&2
fi

echo "== tests as $(id -un)"
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"

if [ "$(id -u)" != 0 ]; then
  exit 0
fi

echo "== boundary tests with ringfence itself running as $TEST_USER"
COPY=/tmp/ringfence-unprivileged-tests
rm -rf "$COPY"
mkdir -p "$COPY"
cp -r src tests pyproject.toml README.md "$COPY/"
find "$COPY" -name __pycache__ -prune -exec rm -rf {} +
SYSTEM_PYTHON=${SYSTEM_PYTHON:-/usr/bin/python3}
"$SYSTEM_PYTHON" -m venv "$COPY/venv"
"$COPY/venv/bin/pip" install -q --disable-pip-version-check "$COPY[test,fast]"
chmod -R a+rX "$COPY"
cd "$COPY"  # the account may not be able to enter the checkout
runuser -u "$TEST_USER" -- env HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)" \
  RINGFENCE_CLIENTS_DIR="${RINGFENCE_CLIENTS_DIR:-}" \
  "$COPY/venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$COPY" -m boundary "$COPY/tests" "$@"
rm -rf "$COPY"
