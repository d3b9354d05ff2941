#!/usr/bin/env bash
# All benchmarks: bench/startup.sh, then bench/proxy.sh (about 8-10 minutes on 2 cores).
# Usage: bench/run.sh   (options are not passed on; run the two scripts for that)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
rc=0
bash "$HERE/startup.sh" || rc=$?
bash "$HERE/proxy.sh" || rc=$?
exit $rc
