#!/usr/bin/env bash
# Truncation check for `ringfence proxy`: big downloads through CONNECT (HTTPS, curl -k) from a
# local nginx origin, each checked for status 200, curl exit 0 and the exact byte count.
# Phases: N sequential; N with PAR in parallel; 5 with a slow reader (curl --limit-rate 50M,
# so the proxy must hold back the origin instead of dropping the tail).
# Usage: bench/trunc.sh [--n 50] [--par 4] [--size-mib 100] [--out FILE.tsv]
# Ports (127.0.0.1, below the ephemeral range): origin https :29343, proxy :29300.
# Pinning when >= 2 CPUs: proxy on CPU 1, nginx and curl on CPU 0 (as the shared harness).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

N=50 PAR=4 SIZE_MIB=100 OUTF="" SLOW_N=5
while [ $# -gt 0 ]; do
  case $1 in
    --n) N=$2; shift 2 ;;
    --par) PAR=$2; shift 2 ;;
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --out) OUTF=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
apt_ensure nginx-light curl openssl util-linux
ensure_ringfence
P_ORIGIN=29343 P_PROXY=29300
SIZE=$((SIZE_MIB * 1024 * 1024))
CPU_C="" CPU_P=""; [ "$(nproc)" -ge 2 ] && CPU_C="taskset -c 0" CPU_P="taskset -c 1"

RUN=$(mktemp -d /tmp/rfbench-trunc.XXXXXX); chmod 755 "$RUN"
PIDS=()
cleanup() {
  local p; for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 0.3; for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for i in $(seq 100); do port_open "$1" && return 0; sleep 0.1; done; return 1; }
for p in $P_ORIGIN $P_PROXY; do port_open $p && die "port $p is in use"; done

mkdir -p "$RUN/www" "$RUN/nginx/tmp" "$RUN/audit"
head -c "$SIZE" /dev/urandom >"$RUN/www/big"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$RUN/nginx/key.pem" -out "$RUN/nginx/cert.pem" 2>/dev/null
cat >"$RUN/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; default_type application/octet-stream; sendfile on; tcp_nopush on;
  client_body_temp_path $RUN/nginx/tmp;
  server { listen 127.0.0.1:$P_ORIGIN ssl; root $RUN/www;
           ssl_certificate $RUN/nginx/cert.pem; ssl_certificate_key $RUN/nginx/key.pem; }
}
EOF
printf '[audit]\npath = "%s/audit/audit.db"\n' "$RUN" >"$RUN/policy.toml"
setsid $CPU_C nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -e "$RUN/nginx/error.log" >"$RUN/nginx.out" 2>&1 </dev/null &
PIDS+=($!)
setsid $CPU_P env -u PYTHONDONTWRITEBYTECODE "$RF" proxy --listen "tcp:127.0.0.1:$P_PROXY" --allow-domain 127.0.0.1 \
  --policy "$RUN/policy.toml" >"$RUN/proxy.out" 2>&1 </dev/null &
PIDS+=($!)
wait_port $P_ORIGIN || { cat "$RUN/nginx.out"; die "nginx did not start"; }
wait_port $P_PROXY || { cat "$RUN/proxy.out"; die "ringfence proxy did not start"; }

URL=https://127.0.0.1:$P_ORIGIN/big
one() {  # prints: http_code size exitcode speed
  $CPU_C curl -sk --http1.1 -x "http://127.0.0.1:$P_PROXY" -o /dev/null --max-time 120 "$@" \
    -w '%{http_code} %{size_download} %{exitcode} %{speed_download}\n' "$URL" || true
}
export -f one; export CPU_C P_PROXY URL
phase() {  # name count parallel [curl args]
  local name=$1 n=$2 par=$3; shift 3
  K=$((K + 1)); local f=$RUN/phase$K.txt
  seq "$n" | xargs -P "$par" -I{} bash -c 'one "$@"' _ "$@" >"$f"
  local bad med
  bad=$(awk -v s="$SIZE" '$1 != 200 || $2 != s || $3 != 0' "$f" | wc -l)
  bad=$((bad + n - $(wc -l <"$f")))
  med=$(awk '{print $4/1e6}' "$f" | sort -n | awk '{a[NR]=$1} END{if(NR==0){print "-"}else{printf "%.0f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}}')
  say "trunc $name: $n downloads of $SIZE_MIB MiB, $bad truncated/failed, median ${med} MB/s"
  awk -v s="$SIZE" '$1 != 200 || $2 != s || $3 != 0 {print "  bad: code=" $1 " bytes=" $2 "/" s " curl-exit=" $3}' "$f" >&2
  printf 'phase=%s\tn=%s\tbad=%s\tmedian_mbs=%s\n' "$name" "$n" "$bad" "$med" >>"$RUN/trunc.tsv"
}
: >"$RUN/trunc.tsv"; K=0
phase "CONNECT sequential ($SIZE_MIB MiB)" "$N" 1
phase "CONNECT $PAR in parallel ($SIZE_MIB MiB)" "$N" "$PAR"
phase "CONNECT slow reader 50 MB/s ($SIZE_MIB MiB)" "$SLOW_N" 1 --limit-rate 50M
if [ -n "$OUTF" ]; then cp "$RUN/trunc.tsv" "$OUTF"; else cat "$RUN/trunc.tsv"; fi
grep -q 'Traceback\|Error' "$RUN/proxy.out" && { echo "ringfence proxy log:" >&2; tail -20 "$RUN/proxy.out" >&2; }
exit 0
