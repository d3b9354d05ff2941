#!/usr/bin/env bash
# Sandbox start-up cost, side by side in one hyperfine run (each command runs `true`):
#   bwrap          bare bubblewrap: --ro-bind / / --dev /dev --proc /proc --unshare-net
#   rf-nonet       ringfence run --no-network -- true
#   rf-net         ringfence run --allow-domain example.com -- true  (egress proxy started)
#   srt-none       srt (sandbox-runtime) with a settings file allowing no domain
#   srt-one        srt with a settings file allowing example.com
#   setpriv        setpriv ... true: what the user switch alone costs (see below)
#   python         the venv's `python -c pass`: the interpreter's floor under ringfence
# As root: ringfence refuses to run an agent as root, so it runs with --user rfbench (created
# if missing) on a workspace owned by rfbench under /tmp (mode 755); bwrap and srt run as the
# same user through `setpriv --reuid --regid --init-groups --reset-env` (no PAM, ~1 ms; the
# `setpriv` row measures it). As a normal user everything runs as that user, no setpriv.
# Usage: bench/startup.sh [--runs N (30)] [--warmup N (5)]
# Writes bench-results/startup-<stamp>.{json,md,txt} and prints the summary table.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=30 WARMUP=5
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

apt_ensure hyperfine bubblewrap util-linux curl
ensure_ringfence
ensure_bench_user
ensure_srt

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
OUT=$RESULTS/startup-$STAMP
WORK=$(mktemp -d /tmp/rfbench-startup.XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
WS=$WORK/ws; mkdir -m 755 "$WS"
mkdir -m 700 "$WORK/audit"
printf '[audit]\npath = "%s/audit/audit.db"\n' "$WORK" >"$WORK/policy.toml"
for d in none one; do
  dom='[]'; [ $d = one ] && dom='["example.com"]'
  printf '{"network": {"allowedDomains": %s, "deniedDomains": []},\n "filesystem": {"denyRead": [], "allowWrite": ["%s"], "denyWrite": []}}\n' \
    "$dom" "$WS" >"$WORK/srt-$d.json"
done
chmod 644 "$WORK"/*.json "$WORK/policy.toml"

AS=() RFUSER=() WHO=$(id -un)
if [ "$(id -u)" = 0 ]; then
  chown "$BENCH_USER:" "$WS"
  AS=(setpriv "--reuid=$BENCH_USER" "--regid=$BENCH_USER" --init-groups --reset-env)
  RFUSER=(--user "$BENCH_USER")
  WHO=$BENCH_USER
fi
BWRAP=$(command -v bwrap)
RFARGS=(run --policy "$WORK/policy.toml" --workspace "$WS" "${RFUSER[@]}")

NAMES=() CMDS=() NOTES=()
add() {  # name command... ; checked once, dropped with the reason if it fails
  local name=$1; shift
  local err
  if ! err=$(cd "$WS" && "$@" 2>&1 >/dev/null </dev/null); then
    NOTES+=("$name: not measured, it fails here: $(tail -c 300 <<<"$err" | tr '\n' ' ')")
    say "skip $name: $err"; return 0
  fi
  NAMES+=("$name"); CMDS+=("$(printf '%q ' "$@")")
}
add bwrap "${AS[@]}" "$BWRAP" --ro-bind / / --dev /dev --proc /proc --unshare-net true
add rf-nonet "$RF" "${RFARGS[@]}" --no-network -- true
add rf-net "$RF" "${RFARGS[@]}" --allow-domain example.com -- true
if [ -z "$SRT_WHY" ]; then
  add srt-none "${AS[@]}" "$SRT" --settings "$WORK/srt-none.json" true
  add srt-one "${AS[@]}" "$SRT" --settings "$WORK/srt-one.json" true
else
  NOTES+=("srt: not measured: $SRT_WHY")
fi
add setpriv "${AS[@]}" true
add python "$RFPY" -c pass

HF=(hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT.json" --export-markdown "$OUT.md")
for i in "${!NAMES[@]}"; do HF+=(--command-name "${NAMES[$i]}" "${CMDS[$i]}"); done

{
  echo "host: $(machine_line)"
  echo "versions: $(bwrap --version); $(hyperfine --version); ringfence $("$RF" --version 2>&1 | awk '{print $NF}');" \
       "$("$RFPY" -c 'import sys; print("Python", sys.version.split()[0])'); node $(node --version 2>/dev/null || echo -);" \
       "sandbox-runtime $([ -z "$SRT_WHY" ] && "$SRT" --version || echo -)"
  echo "sandboxed commands run as: $WHO$([ ${#AS[@]} -gt 0 ] && echo " (ringfence as root with --user $BENCH_USER; bwrap/srt via setpriv)")"
  echo "PYTHONDONTWRITEBYTECODE unset for the measured commands; src/ byte-compiled with compileall"
  echo "hyperfine -N --warmup $WARMUP --runs $RUNS, cwd = workspace; no CPU pinning"
} | tee "$OUT.txt"
(cd "$WS" && env -u PYTHONDONTWRITEBYTECODE "${HF[@]}") | tee -a "$OUT.txt"
python3 "$BENCH/summarize.py" startup "$OUT.json" "${NOTES[@]}" | tee -a "$OUT.txt"
echo "raw: $OUT.json" | tee -a "$OUT.txt"
