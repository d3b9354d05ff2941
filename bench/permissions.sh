#!/usr/bin/env bash
# The permission engine, measured (issue 4 §4), side by side with named peers in one run:
#   quality     the labelled corpus (bench/corpus: dangerous + benign) through ringfence's
#               analyser, cc-safety-net (npm, its checkCommand API) and the OpenAI Codex CLI
#               (its real approval pipeline, bench/peers/codex_safety.py): recall per family,
#               share of benign commands flagged per area
#   throughput  in-process commands/s: parse, parse + risk analysis, Engine.decide
#   hook        a fresh process per call, as Claude Code runs a hook: `ringfence hook
#               claude-code` against `cc-safety-net hook --claude-code`, with `python -c pass`
#               and `node -e 0` as floors
# Usage: bench/permissions.sh [--no-codex] [--hook-calls N (40)] [--seconds S (3)]
# Writes bench-results/permissions-<stamp>.{md,json} and -misses.txt; prints the tables.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

CODEX=1 HOOK_CALLS=40 SECONDS_EACH=3
while [ $# -gt 0 ]; do
  case $1 in
    --no-codex) CODEX=0; shift ;;
    --hook-calls) HOOK_CALLS=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

ensure_ringfence
PEERS_LOG=$(mktemp)
bash "$BENCH/peers/install.sh" | tee "$PEERS_LOG" >&2
PEERS=$(sed -n 's/^peers: dir: //p' "$PEERS_LOG" | tail -1)
rm -f "$PEERS_LOG"
[ -n "$PEERS" ] || die "bench/peers/install.sh did not say where the peers are"
CCSN=$PEERS/cc-safety-net/node_modules/cc-safety-net
NODE=$(sed -n 's/^node: //p' "$PEERS/node.path" 2>/dev/null || command -v node)

args=(--corpus "$BENCH/corpus" --seconds "$SECONDS_EACH" --hook-calls "$HOOK_CALLS"
      --peer "cc-safety-net=$NODE $BENCH/peers/ccsn_check.mjs $CCSN"
      --hook "ringfence=$RF hook claude-code"
      --hook "cc-safety-net=$NODE $CCSN/dist/bin/cc-safety-net.js hook --claude-code"
      --hook "python=$RFPY -c pass"
      --hook "node=$NODE -e 0")
if [ "$CODEX" = 1 ]; then
  args+=(--peer "codex=env RINGFENCE_PEERS_DIR=$PEERS python3 $BENCH/peers/codex_safety.py")
fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
"$RFPY" "$BENCH/permissions.py" "${args[@]}" --out "$RESULTS/permissions-$STAMP"
