# Shared by bench/*.sh (sourced, not run). Locates the repo, the shared proxy harness and the
# results folder, installs what the benchmarks need (idempotent: only what is missing), and
# prepares ringfence so that it starts the way a user's install does (byte-compiled).
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
CACHE=$BENCH/.cache
RESULTS=${BENCH_RESULTS:-$ROOT/bench-results}
SHARED_HARNESS=$(cd "$ROOT/.." && pwd)/shared/bench/proxy
RF=$ROOT/.venv/bin/ringfence
RFPY=$ROOT/.venv/bin/python
BENCH_USER=${BENCH_USER:-rfbench}
SRT_VER=${SRT_VER:-0.0.78}
SRT=$CACHE/node/node_modules/.bin/srt
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

die() { echo "bench: $*" >&2; exit 2; }
say() { echo "[$(date +%H:%M:%S)] $*" >&2; }

need_shared_harness() {
  [ -f "$SHARED_HARNESS/run.sh" ] && [ -f "$SHARED_HARNESS/setup.sh" ] || die \
    "the shared proxy harness is missing: expected $SHARED_HARNESS/run.sh and setup.sh
  (it lives in shared/bench/proxy beside the repo: check out shared/ next to $(basename "$ROOT")/)"
}

_APT_UPDATED=0
apt_ensure() {  # apt_ensure PKG... : install the Debian packages that are not installed yet
  local p missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  say "installing: ${missing[*]}"
  if [ "$_APT_UPDATED" = 0 ]; then $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; _APT_UPDATED=1; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  # Debian starts these as services on install; the benchmarks start their own instances
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then $SUDO systemctl stop nginx squid 2>/dev/null || true; fi
}

# ringfence as a user gets it: installed, byte-compiled, and Python allowed to use the .pyc
# files. (This environment sets PYTHONDONTWRITEBYTECODE=1, which makes every start recompile
# ringfence's modules in an editable install; the measured commands run without it.)
ensure_ringfence() {
  if [ ! -x "$RF" ]; then say "no $RF: running 'make setup'"; make -C "$ROOT" setup >&2; fi
  env -u PYTHONDONTWRITEBYTECODE "$RFPY" -m compileall -q "$ROOT/src" >/dev/null
  unset PYTHONDONTWRITEBYTECODE
}

# srt (@anthropic-ai/sandbox-runtime) into bench/.cache/node, never globally. Sets SRT_WHY
# (empty = usable) instead of failing: the startup table records why it is missing.
SRT_WHY=""
ensure_srt() {
  apt_ensure socat ripgrep bubblewrap
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_ensure nodejs npm; fi
  local v; v=$(node --version 2>/dev/null | tr -d v)
  if [ -z "$v" ] || ! printf '%s\n' 20.11.0 "$v" | sort -V -C; then
    SRT_WHY="srt needs node >= 20.11 (package engines); this machine has node ${v:-none} (Debian 12's nodejs is 18)"
    return 0
  fi
  local have=""
  [ -f "$CACHE/node/node_modules/@anthropic-ai/sandbox-runtime/package.json" ] &&
    have=$(node -p "require('$CACHE/node/node_modules/@anthropic-ai/sandbox-runtime/package.json').version")
  if [ "$have" != "$SRT_VER" ]; then
    say "npm install @anthropic-ai/sandbox-runtime@$SRT_VER into $CACHE/node"
    mkdir -p "$CACHE/node"
    npm install --prefix "$CACHE/node" --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/sandbox-runtime@$SRT_VER" >&2 || { SRT_WHY="npm install of @anthropic-ai/sandbox-runtime@$SRT_VER failed"; return 0; }
  fi
  [ -x "$SRT" ] || SRT_WHY="no srt binary after npm install ($SRT)"
}

# As root, ringfence refuses to run an agent as root: everything sandboxed runs as BENCH_USER.
ensure_bench_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$BENCH_USER" >/dev/null 2>&1 ||
    useradd --system --create-home --shell /usr/sbin/nologin "$BENCH_USER" ||
    die "cannot create the user $BENCH_USER"
}

machine_line() {
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(uname -sr), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB RAM, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
}
