#!/usr/bin/env bash
# Egress proxy, side by side in one run of the shared harness (../shared/bench/proxy/run.sh):
# `ringfence proxy` against direct, Squid, mitmproxy (TLS interception and passthrough) and the
# bare asyncio relay (plain and uvloop). The harness measures wrk req/s and latency at 1 and 64
# connections, the proxy's CPU µs per request, 100 MiB bulk over HTTP and through CONNECT, 500
# sequential fresh CONNECT+TLS requests (new connection each), and the status for a host
# outside the allowlist. Then bench/trunc.sh: big CONNECT downloads through ringfence proxy,
# counting truncated ones.
# Usage: bench/proxy.sh [--no-trunc] [harness options, e.g. --duration 5 --only squid]
# Writes bench-results/proxy/<stamp>.{txt,tsv} (the harness), bench-results/proxy-<stamp>.md
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

TRUNC=1 ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-trunc) TRUNC=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

need_shared_harness
VENV=${VENV:-/tmp/bench-venv}
if ! "$VENV/bin/python" -c 'import uvloop' 2>/dev/null || [ ! -x "$VENV/bin/mitmdump" ]; then
  say "running the shared harness setup ($SHARED_HARNESS/setup.sh)"
  VENV=$VENV bash "$SHARED_HARNESS/setup.sh" >&2
fi
apt_ensure nginx-light squid wrk curl openssl util-linux
ensure_ringfence

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS/proxy"
WORK=$(mktemp -d /tmp/rfbench-proxy.XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
mkdir -m 700 "$WORK/audit"
printf '[audit]\npath = "%s/audit/audit.db"\n' "$WORK" >"$WORK/policy.toml"

# $PROXY_PORT is expanded by the harness (it runs the command under bash with it exported)
PROXY_CMD="exec env -u PYTHONDONTWRITEBYTECODE $(printf '%q' "$RF") proxy --listen tcp:127.0.0.1:\$PROXY_PORT"
PROXY_CMD+=" --allow-domain 127.0.0.1 --policy $(printf '%q' "$WORK/policy.toml")"
say "ringfence proxy command: $PROXY_CMD"
STAMP_FILE="$WORK/started"
touch "$STAMP_FILE"
VENV=$VENV BENCH_RESULTS=$RESULTS/proxy bash "$SHARED_HARNESS/run.sh" \
  --proxy-cmd "$PROXY_CMD" --proxy-port 29200 --proxy-name ringfence "${ARGS[@]}"
TSV=$(find "$RESULTS/proxy" -maxdepth 1 -name '*.tsv' ! -name 'trunc-*' -newer "$STAMP_FILE" 2>/dev/null | sort | tail -1)
[ -n "$TSV" ] || die "the harness wrote no results"

TT=""
if [ "$TRUNC" = 1 ]; then
  TT=$RESULTS/proxy/trunc-$STAMP.tsv
  bash "$BENCH/trunc.sh" --out "$TT"
fi
OUT=$RESULTS/proxy-$STAMP.md
{ echo "host: $(machine_line)"; python3 "$BENCH/summarize.py" proxy "$TSV" ${TT:+"$TT"}; } | tee "$OUT"
echo "raw: $TSV ${TT:+$TT}"
