#!/usr/bin/env bash
# Secret scanning measured (issue 5 §5), side by side with named peers in one run, on the same
# inputs (bench/scan.py says how each figure is taken):
#   planted     a planted-credentials workspace (bench/corpus/secrets.py: 40 fake secrets of
#               many kinds in realistic places, git-ignored files, a 5 MB log and binaries
#               included, plus 14 decoys): planted items found, decoys flagged, other findings
#   speed       the Python standard library folder: CPU s per MB, wall time, findings; ratio
#               to gitleaks
#   masking     `ringfence run --no-network -- true` on a 10,000-file workspace, masking on
#               against --no-mask (skipped until `ringfence run` offers --no-mask)
# Peers (bench/peers/install.sh --only secrets; bench/peers/README.md): gitleaks,
# detect-secrets, trufflehog3, secretlint. ~1.5 minutes, half of it detect-secrets.
# Usage: bench/scan.sh [--stdlib DIR (/usr/lib/python3.11)] [--runs N (3)] [--no-mask-bench]
# Writes bench-results/scan-<stamp>.{md,json} and -details.txt; prints the tables.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

STDLIB=/usr/lib/python3.11 RUNS=3 EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --stdlib) STDLIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --no-mask-bench) EXTRA+=(--no-mask-bench); shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ -d "$STDLIB" ] || die "no folder $STDLIB (--stdlib DIR: the Python standard library to time the scanners on)"

apt_ensure git hyperfine bubblewrap
ensure_ringfence
ensure_bench_user
PEERS_LOG=$(mktemp)
bash "$BENCH/peers/install.sh" --only secrets | tee "$PEERS_LOG" >&2
PEERS=$(sed -n 's/^peers: dir: //p' "$PEERS_LOG" | tail -1)
rm -f "$PEERS_LOG"
[ -n "$PEERS" ] || die "bench/peers/install.sh did not say where the peers are"

USER_ARGS=()
[ "$(id -u)" = 0 ] && USER_ARGS=(--user "$BENCH_USER")
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
"$RFPY" "$BENCH/scan.py" --peers "$PEERS" --ringfence "$RF" --stdlib "$STDLIB" --runs "$RUNS" \
  "${USER_ARGS[@]}" "${EXTRA[@]}" --out "$RESULTS/scan-$STAMP"
