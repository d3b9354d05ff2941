#!/usr/bin/env bash
# TLS termination with credential injection: `ringfence proxy` against `mitmdump` running an
# equivalent addon (bench/mitm_inject.py: inject x-api-key, leak-check the request, scrub the
# secret from the response), side by side in one run, both verified by their clients against
# their own CA. Origins (test PKI from tests/support/pki.py): nginx over HTTPS (/small: checks
# the key and echoes it, so every answer is scrubbed; /bytes/N: N bytes) and a small asyncio
# server-sent-events origin (bench/terminate.py sse-origin). Per proxy, and direct as a floor:
#   small   CONNS curl processes, each many GET /small over one CONNECT+TLS keep-alive
#           connection; req/s and the proxy's CPU µs per request (utime+stime from /proc,
#           every thread) over DURATION s after a 1 s warm-up; ROUNDS rounds, median;
#   bulk    BULK_MB MB from /bytes through the terminated connection, median of BULK_REPS, MB/s
#           and the proxy's CPU ms per MB;
#   stream  SSE_RUNS new connections, two requests each (10 events 50 ms apart): time to the
#           first event on a new and on an established connection, and each later event's
#           delay (origin send to client arrival); reported as ms added to direct;
#   leaf    LeafCache.context_for for LEAF_N new host names after the first (ringfence only).
# Opaque CONNECT bulk vs Squid is bench/proxy.sh's: unless --no-opaque, this runs it for
# direct and Squid and ringfence only (--only direct,squid --no-trunc); with --no-opaque the
# summary quotes the newest proxy.sh results there are (bench/run.sh runs proxy.sh first).
# Both proxies run at once (idle but for the one under load); the phases take turns, in an
# order swapped every round, so that the machine's drift (2 shared, noisy cores) hits both alike.
# Usage: bench/terminate.sh [--duration 5] [--rounds 3] [--conns 8] [--bulk-mb 200] [--bulk-reps 3]
#          [--sse-runs 5] [--leaf-n 200] [--no-opaque] [--no-pin] [--profile]
# --profile runs ringfence's proxy under cProfile (its figures then are not comparable) and
# keeps the stats as bench-results/terminate-<stamp>-ringfence.prof (python -m pstats FILE).
# Ports (127.0.0.1): nginx :29543, SSE origin :29544, ringfence :29510, mitmdump :29511.
# Pinning when >= 2 CPUs: proxies on CPU 1; origins and clients on CPU 0.
# mitmproxy lives in its own venv, bench/.venv-mitm (git-ignored), made once (MITMPROXY_VER,
# default 12.2.3, needs Python >= 3.12; with only an older Python, 11.0.2).
# Writes bench-results/terminate-<stamp>.{tsv,md} (override the folder with BENCH_RESULTS).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=5 ROUNDS=3 CONNS=8 BULK_MB=200 BULK_REPS=3 SSE_RUNS=5 LEAF_N=200 OPAQUE=1 PIN=1 PROFILE=0
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --bulk-mb) BULK_MB=$2; shift 2 ;;
    --bulk-reps) BULK_REPS=$2; shift 2 ;;
    --sse-runs) SSE_RUNS=$2; shift 2 ;;
    --leaf-n) LEAF_N=$2; shift 2 ;;
    --no-opaque) OPAQUE=0; shift ;;
    --no-pin) PIN=0; shift ;;
    --profile) PROFILE=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

MITM_VENV=$BENCH/.venv-mitm
MITMDUMP=$MITM_VENV/bin/mitmdump
ensure_mitm() {  # mitmproxy in bench/.venv-mitm, once; never in ringfence's venv
  local want=${MITMPROXY_VER:-} py="" c v
  for c in python3.13 python3.12 "$(pyenv root 2>/dev/null)"/versions/3.1[2-9]*/bin/python3 python3; do
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then py=$c; break; fi
  done
  [ -n "$py" ] || py=python3
  [ -n "$want" ] || { "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' && want=12.2.3 || want=11.0.2; }
  v=$("$MITMDUMP" --version 2>/dev/null | awk '/^Mitmproxy/ {print $2}') || true
  [ "$v" = "$want" ] && return 0
  say "installing mitmproxy $want into $MITM_VENV (with $("$py" --version))"
  rm -rf "$MITM_VENV"
  "$py" -m venv "$MITM_VENV"
  "$MITM_VENV/bin/pip" install -q --disable-pip-version-check "mitmproxy==$want" >&2
  "$MITMDUMP" --version >/dev/null || die "mitmproxy did not install into $MITM_VENV"
}

apt_ensure nginx-light curl openssl util-linux
ensure_ringfence
ensure_mitm

P_ORIGIN=29543 P_SSE=29544 P_RF=29510 P_MITM=29511
API_KEY=sk-bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')  # a fake secret, new each run
BULK_BYTES=$((BULK_MB * 1000000))
CPU_C="" CPU_P=""
[ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && CPU_C="taskset -c 0" CPU_P="taskset -c 1"
HELPER=("$RFPY" "$BENCH/terminate.py")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
OUT_TSV=$RESULTS/terminate-$STAMP.tsv OUT_MD=$RESULTS/terminate-$STAMP.md
: >"$OUT_TSV"
RUN=$(mktemp -d /tmp/rfbench-terminate.XXXXXX); chmod 755 "$RUN"
PGIDS=()
stop_group() {
  local pg=$1 i
  kill -TERM -- "-$pg" 2>/dev/null || return 0
  for i in $(seq 30); do kill -0 -- "-$pg" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null || true
}
cleanup() {
  local pg; for pg in "${PGIDS[@]}"; do stop_group "$pg"; done
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_bg() {  # name cpu-prefix cmd... -> BG_PGID (each server in a session of its own)
  local name=$1 cpu=$2 pid; shift 2
  # shellcheck disable=SC2086  # $cpu is "" or "taskset -c N"
  setsid $cpu "$@" >"$RUN/$name.out" 2>&1 </dev/null &
  pid=$!; sleep 0.2
  BG_PGID=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || true
  [ -n "$BG_PGID" ] || BG_PGID=$pid
  PGIDS+=("$BG_PGID")
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for i in $(seq 150); do port_open "$1" && return 0; sleep 0.1; done; return 1; }
for p in $P_ORIGIN $P_SSE $P_RF $P_MITM; do port_open $p && die "port $p is in use"; done

# ---- origins ----
say "terminate: run dir $RUN; origins on :$P_ORIGIN (nginx) and :$P_SSE (SSE)"
read -r ORIGIN_CA ORIGIN_CERT ORIGIN_KEY < <(PYTHONPATH=$ROOT "${HELPER[@]}" pki "$RUN/pki")
mkdir -p "$RUN/www/bytes" "$RUN/nginx/tmp" "$RUN/mitm" "$RUN/audit"
mkdir -m 700 "$RUN/state"
head -c "$BULK_BYTES" /dev/urandom >"$RUN/www/bytes/$BULK_BYTES"
# /small: 401 without the key; with it, a ~300-byte JSON answer that echoes the key, so the
# proxy's scrub has a secret to replace in every response
cat >"$RUN/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; default_type application/octet-stream; sendfile on;
  keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_temp_path $RUN/nginx/tmp;
  server {
    listen 127.0.0.1:$P_ORIGIN ssl; root $RUN/www;
    ssl_certificate $ORIGIN_CERT; ssl_certificate_key $ORIGIN_KEY;
    location = /small {
      default_type application/json;
      if (\$http_x_api_key != "$API_KEY") { return 401 "{\"error\": \"no key\"}\n"; }
      return 200 "{\"id\": \"msg_0001\", \"type\": \"message\", \"seen_key\": \"\$http_x_api_key\", \"accept_encoding\": \"\$http_accept_encoding\", \"content\": [{\"type\": \"text\", \"text\": \"a small answer, about as long as a short API reply with a few fields in it\"}], \"usage\": {\"input_tokens\": 12, \"output_tokens\": 34}}\n";
    }
  }
}
EOF
start_bg nginx "$CPU_C" nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -e "$RUN/nginx/error.log"
start_bg sse "$CPU_C" env BENCH_API_KEY="$API_KEY" "${HELPER[@]}" sse-origin --port $P_SSE --cert "$ORIGIN_CERT" --key "$ORIGIN_KEY"
wait_port $P_ORIGIN || { cat "$RUN/nginx.out"; die "nginx did not start"; }
wait_port $P_SSE || { cat "$RUN/sse.out"; die "the SSE origin did not start"; }
URL_SMALL=https://127.0.0.1:$P_ORIGIN/small
URL_BULK=https://127.0.0.1:$P_ORIGIN/bytes/$BULK_BYTES
URL_SSE="https://127.0.0.1:$P_SSE/sse?n=10&gap=50"

cat >"$RUN/policy.toml" <<EOF
[network]
allow = ["127.0.0.1"]
upstream_ca = ["$ORIGIN_CA"]

[[credentials]]
name = "api"
hosts = ["127.0.0.1"]
header = "x-api-key"
value = "env:BENCH_API_KEY"

[audit]
path = "$RUN/audit/audit.db"
EOF

# ---- proxies: start_<name> sets PORT, CA (what the client trusts), BG_PGID ----
start_ringfence() {
  PORT=$P_RF CA=$RUN/state/ca/bundle.pem
  local cmd=("$RF")
  [ "$PROFILE" = 1 ] && cmd=("${HELPER[@]}" profile "$RESULTS/terminate-$STAMP-ringfence.prof" --)
  start_bg ringfence "$CPU_P" env -u PYTHONDONTWRITEBYTECODE BENCH_API_KEY="$API_KEY" RINGFENCE_STATE_DIR="$RUN/state" \
    "${cmd[@]}" proxy --listen "tcp:127.0.0.1:$PORT" --policy "$RUN/policy.toml"
}
start_mitm() {
  PORT=$P_MITM CA=$RUN/mitm/mitmproxy-ca-cert.pem
  # flow_detail=1: one line per request (to a file), as ringfence writes one audit record
  start_bg mitm "$CPU_P" env BENCH_API_KEY="$API_KEY" BENCH_HOSTS=127.0.0.1 "$MITMDUMP" \
    --listen-host 127.0.0.1 -p "$PORT" --set "confdir=$RUN/mitm" --set "ssl_verify_upstream_trusted_ca=$ORIGIN_CA" \
    --set flow_detail=1 --set stream_large_bodies=1m -s "$BENCH/mitm_inject.py"
}

NAMES=(direct ringfence mitm)
declare -A PORT_OF=() CA_OF=() PG_OF=() REC_OF=() OK=()
declare -A S_RPS=() S_CPU=() S_MAIN=() S_N=() S_ERR=() S_CONNS=() B_MBS=() B_CPU=() B_ERR=()
rec() { REC_OF[$1]+="$2=$3"$'\t'; }
cpu_of() { if [ -n "$1" ]; then "${HELPER[@]}" cpu "$1"; else echo 0 0; fi; }  # -> "all main-thread" CPU s
lines() { cat "$@" 2>/dev/null | wc -l; }
median() {  # FORMAT VALUE... ("-" values left out)
  local fmt=$1; shift
  printf '%s\n' "$@" | grep -v -e '^-$' -e '^$' | sort -g |
    awk -v f="$fmt" '{a[NR]=$1} END{if(NR==0){print "-"}else{printf f "\n", NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}}'
}
csv() { local IFS=,; echo "$*"; }
client_args() {  # NAME -> ARGS (curl) and SSE (terminate.py sse-client)
  if [ "$1" = direct ]; then
    ARGS=(--cacert "$ORIGIN_CA" -H "x-api-key: $API_KEY") SSE=(--ca "$ORIGIN_CA" --key "$API_KEY")
  else
    ARGS=(-x "http://127.0.0.1:${PORT_OF[$1]}" --cacert "${CA_OF[$1]}") SSE=(--ca "${CA_OF[$1]}" --proxy "127.0.0.1:${PORT_OF[$1]}")
  fi
}

small_round() {  # NAME ROUND: CONNS keep-alive connections for DURATION s, after a 1 s warm-up
  local name=$1 pg=${PG_OF[$1]:-} i n0 n1 c0 c1 m0 m1 t0 t1 d=$RUN/small-$1-$2 pids=()
  mkdir -p "$d"; client_args "$name"
  for i in $(seq "$CONNS"); do
    # one curl = one connection (one CONNECT + TLS) reused for every URL of the glob; bounded
    # by the glob's count and by the kill below
    # shellcheck disable=SC2086
    $CPU_C curl -s --http1.1 "${ARGS[@]}" -w '%{stderr}%{http_code}\n' "$URL_SMALL?i=[1-1000000]" >/dev/null 2>"$d/$i" &
    pids+=($!)
  done
  sleep 1
  n0=$(lines "$d"/*); read -r c0 m0 < <(cpu_of "$pg"); t0=$(date +%s.%N)
  sleep "$DURATION"
  n1=$(lines "$d"/*); read -r c1 m1 < <(cpu_of "$pg"); t1=$(date +%s.%N)
  kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
  local n=$((n1 - n0)) bad alive rps cpu=- main=-
  bad=$(cat "$d"/* | grep -cv '^200$' || true)
  alive=$(for i in $(seq "$CONNS"); do [ -s "$d/$i" ] && echo; done | wc -l)
  rps=$(awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')
  if [ -n "$pg" ] && [ "$n" -gt 0 ]; then
    cpu=$(awk -v a="$c0" -v b="$c1" -v n=$n 'BEGIN{printf "%.0f", (b-a)*1e6/n}')
    main=$(awk -v a="$m0" -v b="$m1" -v n=$n 'BEGIN{printf "%.0f", (b-a)*1e6/n}')
  fi
  S_RPS[$name]+="$rps " S_CPU[$name]+="$cpu " S_MAIN[$name]+="$main "
  S_N[$name]=$(( ${S_N[$name]:-0} + n )) S_ERR[$name]=$(( ${S_ERR[$name]:-0} + bad ))
  local fewest=${S_CONNS[$name]:-$CONNS}; S_CONNS[$name]=$(( alive < fewest ? alive : fewest ))
  say "$name small #$2: $rps req/s over $alive/$CONNS connections, $bad not 200, proxy CPU $cpu µs/request (main thread $main)"
}

bulk_once() {  # NAME: one BULK_MB download through the terminated connection
  local name=$1 pg=${PG_OF[$1]:-} code size speed c0 c1
  client_args "$name"
  read -r c0 _ < <(cpu_of "$pg")
  # shellcheck disable=SC2086
  read -r code size speed < <($CPU_C curl -s --http1.1 "${ARGS[@]}" -o /dev/null --max-time 120 \
    -w '%{http_code} %{size_download} %{speed_download}\n' "$URL_BULK" || true)
  read -r c1 _ < <(cpu_of "$pg")
  if [ "${code:-}" != 200 ] || [ "${size:-}" != "$BULK_BYTES" ]; then
    B_ERR[$name]=$(( ${B_ERR[$name]:-0} + 1 )); say "$name bulk: FAILED (status ${code:-none}, ${size:-0} bytes)"; return
  fi
  B_MBS[$name]+="$(awk -v s="$speed" 'BEGIN{printf "%.0f", s/1e6}') "
  if [ -n "$pg" ]; then B_CPU[$name]+="$(awk -v a="$c0" -v b="$c1" -v m="$BULK_MB" 'BEGIN{printf "%.2f", (b-a)*1000/m}') "; fi
}

sse_all() {  # NAME
  local out
  client_args "$1"
  out=$($CPU_C "${HELPER[@]}" sse-client --url "$URL_SSE" --runs "$SSE_RUNS" "${SSE[@]}" 2>"$RUN/sse-$1.err") || true
  [ -n "$out" ] || out="sse_err=$SSE_RUNS"
  REC_OF[$1]+="$out"$'\t'
  say "$1 stream: $out"
}

sanity() {  # NAME: the key reached the origin, and a proxy's client saw the placeholder instead
  local body
  client_args "$1"
  body=$($CPU_C curl -sS --http1.1 "${ARGS[@]}" --max-time 10 "$URL_SMALL" 2>&1) || true
  if [[ $body != *'"seen_key"'* ]]; then say "$1: SANITY FAILED: $body"; return 1; fi
  if [[ $body == *"$API_KEY"* ]] && [ "$1" != direct ]; then say "$1: SANITY FAILED: the secret reached the client"; return 1; fi
  say "$1: sanity ok: $(sed -n 's/.*"seen_key": "\([^"]*\)".*"accept_encoding": "\([^"]*\)".*/client saw key "\1", origin saw accept-encoding "\2"/p' <<<"$body")"
}

say "terminate: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
LIVE=()
for name in "${NAMES[@]}"; do
  REC_OF[$name]=""; rec "$name" name "$name"
  if [ "$name" != direct ]; then
    PORT="" CA="" BG_PGID=""
    "start_$name"
    PORT_OF[$name]=$PORT CA_OF[$name]=$CA PG_OF[$name]=$BG_PGID
    if ! wait_port "$PORT"; then say "$name: not listening on :$PORT"; tail -5 "$RUN/$name.out" >&2; rec "$name" small_err start; continue; fi
    for _ in $(seq 50); do [ -s "$CA" ] && break; sleep 0.1; done
  fi
  if sanity "$name"; then LIVE+=("$name"); else rec "$name" small_err sanity; fi
done
# Both proxies stay up (pinned to the same CPU, idle but for the one under load) and the
# phases take turns, the order swapped each round, so the machine's drift hits both alike.
PROXIES=(); for name in "${LIVE[@]}"; do if [ "$name" != direct ]; then PROXIES+=("$name"); fi; done
REVERSED=(); for ((i = ${#PROXIES[@]} - 1; i >= 0; i--)); do REVERSED+=("${PROXIES[$i]}"); done
[[ " ${LIVE[*]} " == *" direct "* ]] && small_round direct 1
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order=("${PROXIES[@]}"); else order=("${REVERSED[@]}"); fi
  for name in "${order[@]}"; do small_round "$name" "$r"; done
done
for r in $(seq "$BULK_REPS"); do
  if [ $((r % 2)) = 1 ]; then order=("${LIVE[@]}"); else order=(direct "${REVERSED[@]}"); fi
  for name in "${order[@]}"; do bulk_once "$name"; done
done
for name in "${LIVE[@]}"; do
  say "$name bulk: ${BULK_MB} MB, MB/s [${B_MBS[$name]:-}], proxy CPU ms/MB [${B_CPU[$name]:-}], ${B_ERR[$name]:-0} failed"
done
for name in "${LIVE[@]}"; do sse_all "$name"; done

for name in "${NAMES[@]}"; do
  if [[ " ${LIVE[*]} " == *" $name "* ]]; then
    # shellcheck disable=SC2086  # the lists are space-separated on purpose
    {
      rec "$name" small_rps "$(median %.0f ${S_RPS[$name]:-})"; rec "$name" small_rps_rounds "$(csv ${S_RPS[$name]:-})"
      rec "$name" small_cpu_us "$(median %.0f ${S_CPU[$name]:-})"; rec "$name" small_cpu_us_rounds "$(csv ${S_CPU[$name]:-})"
      rec "$name" small_cpu_main_us "$(median %.0f ${S_MAIN[$name]:-})"
      rec "$name" small_n "${S_N[$name]:-0}"; rec "$name" small_err "${S_ERR[$name]:-0}"; rec "$name" small_conns "${S_CONNS[$name]:-0}"
      rec "$name" bulk_mbs "$(median %.0f ${B_MBS[$name]:-})"; rec "$name" bulk_mbs_runs "$(csv ${B_MBS[$name]:-})"
      rec "$name" bulk_cpu_ms_per_mb "$(median %.2f ${B_CPU[$name]:-})"; rec "$name" bulk_err "${B_ERR[$name]:-0}"
    }
  fi
  echo "${REC_OF[$name]%$'\t'}" >>"$OUT_TSV"
  if [ -n "${PG_OF[$name]:-}" ]; then
    grep -q 'Traceback' "$RUN/$name.out" && { say "$name log:"; tail -20 "$RUN/$name.out" >&2; }
    stop_group "${PG_OF[$name]}"
  fi
done

say "leaf certificates: $LEAF_N new host names"
$CPU_P "${HELPER[@]}" leaf --n "$LEAF_N" >>"$OUT_TSV"

VERSIONS="nginx $(nginx -v 2>&1 | cut -d/ -f2); $(curl --version | head -1 | cut -d' ' -f1-2); mitmproxy $("$MITMDUMP" --version | awk '/^Mitmproxy/{print $2}') (Python $("$MITM_VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')); ringfence $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+changes') (Python $("$RFPY" -c 'import sys; print(sys.version.split()[0])'))"
PROXY_TSV=""
if [ "$OPAQUE" = 1 ]; then
  say "opaque CONNECT bulk: bench/proxy.sh --no-trunc --only direct,squid (and ringfence)"
  touch "$RUN/opaque-start"
  bash "$BENCH/proxy.sh" --no-trunc --only direct,squid --duration 3 --conn 20 >"$RUN/opaque.out" 2>&1 ||
    { tail -20 "$RUN/opaque.out" >&2; say "proxy.sh failed"; }
  PROXY_TSV=$(find "$RESULTS/proxy" -maxdepth 1 -name '*.tsv' ! -name 'trunc-*' -newer "$RUN/opaque-start" 2>/dev/null | sort | tail -1 || true)
else
  # none yet is fine: the summary then has no opaque row (find fails on a missing folder)
  PROXY_TSV=$(find "$RESULTS/proxy" -maxdepth 1 -name '*.tsv' ! -name 'trunc-*' 2>/dev/null | sort | tail -1 || true)
fi
{
  echo "host: $(machine_line)"
  echo "versions: $VERSIONS"
  echo "params: small: $ROUNDS rounds (direct: 1) of $CONNS connections x ${DURATION}s after a 1 s warm-up, medians; bulk ${BULK_MB} MB x $BULK_REPS; SSE $SSE_RUNS connections x 2 requests x 10 events 50 ms apart; $LEAF_N leaves; pinning: ${CPU_P:-off}$([ "$PROFILE" = 1 ] && echo "; ringfence ran under cProfile, its figures are not comparable")"
  python3 "$BENCH/summarize.py" terminate "$OUT_TSV" ${PROXY_TSV:+"$PROXY_TSV"}
} | tee "$OUT_MD"
echo "raw: $OUT_TSV ${PROXY_TSV:+$PROXY_TSV}"
