#!/usr/bin/env bash
# All benchmarks: bench/startup.sh, bench/proxy.sh, then bench/terminate.sh (about 10-12
# minutes on 2 cores; terminate.sh quotes proxy.sh's opaque CONNECT figures instead of
# measuring them again).
# Usage: bench/run.sh   (options are not passed on; run the scripts for that)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
rc=0
bash "$HERE/startup.sh" || rc=$?
bash "$HERE/proxy.sh" || rc=$?
bash "$HERE/terminate.sh" --no-opaque || rc=$?
exit $rc
