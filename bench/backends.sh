#!/usr/bin/env bash
# Container back-ends' start-up, side by side in one hyperfine run (each runs /bin/true):
#   podman         bare `podman --runtime runc run --rm --network none --rootfs ROOTFS /bin/true`
#   rf-podman      ringfence run --backend podman --no-network -- /bin/true
#   runsc          bare podman with gVisor (`--runtime runsc`, ptrace platform, network=none)
#   rf-gvisor      ringfence run --backend gvisor --no-network -- /bin/true
#   bwrap          bare bubblewrap, and rf-bwrap: ringfence run --no-network (the default back-end)
#   runc, runsc-do for context: the OCI runtime alone (`runc run` on a bundle of the same root
#                  file system, read-only) and `runsc do` (gVisor on the host's root, network=none),
#                  what podman itself adds on top of them
# Target (issue 6): ringfence adds <= 10% over the bare runtime's own start-up.
# Then file-heavy work in the workspace under each back-end (gVisor's overhead for it).
# As root (rootful podman; the container back-ends refuse rootless). The root file system is
# the test suite's (debootstrap minbase + python3 in /var/cache/ringfence-test-rootfs), made
# here if missing. Usage: bench/backends.sh [--runs N (15)] [--warmup N (3)]
# Writes bench-results/backends-<stamp>.{json,md} and prints the table.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

RUNS=15 WARMUP=3
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root: the container back-ends run rootful podman"

apt_ensure hyperfine bubblewrap podman runc runsc debootstrap
ensure_ringfence
ensure_bench_user
ROOTFS=${RINGFENCE_TEST_ROOTFS:-/var/cache/ringfence-test-rootfs}
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  say "making $ROOTFS with debootstrap (once)"
  rm -rf "$ROOTFS.partial"
  debootstrap --variant=minbase --include=python3 bookworm "$ROOTFS.partial" http://deb.debian.org/debian >/dev/null
  mv "$ROOTFS.partial" "$ROOTFS"
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
OUT=$RESULTS/backends-$STAMP
WORK=$(mktemp -d /tmp/rfbench-backends.XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
WS=$WORK/ws; mkdir -m 755 "$WS"; chown "$BENCH_USER:" "$WS"
mkdir -m 700 "$WORK/audit"
printf '[audit]\npath = "%s/audit/audit.db"\n[container]\nrootfs = "%s"\n' "$WORK" "$ROOTFS" >"$WORK/policy.toml"
RF="$RF run --policy $WORK/policy.toml --workspace $WS --user $BENCH_USER --no-network"
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024"
PODMAN="podman --runtime $(command -v runc) run --rm --network none $LIMITS --rootfs $ROOTFS /bin/true"
RUNSC="podman --runtime $(command -v runsc) --runtime-flag platform=ptrace --runtime-flag network=none run --rm --network none $LIMITS --rootfs $ROOTFS /bin/true"
BWRAP="$(command -v bwrap) --ro-bind / / --dev /dev --proc /proc --unshare-all /bin/true"
mkdir "$WORK/bundle"
(cd "$WORK/bundle" && runc spec)
"$RFPY" - "$WORK/bundle/config.json" "$ROOTFS" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["root"] = {"path": sys.argv[2], "readonly": True}
config["process"].update(args=["/bin/true"], terminal=False)
json.dump(config, open(sys.argv[1], "w"))
PY
RUNC="$(command -v runc) run --bundle $WORK/bundle rfbench-$$"
RUNSC_DO="$(command -v runsc) --platform=ptrace --network=none do /bin/true"

say "hyperfine: $RUNS runs each after $WARMUP warm-up runs, in $WS"
cd "$WS"
env -u PYTHONDONTWRITEBYTECODE hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT.json" \
  -n podman "$PODMAN" -n rf-podman "$RF --backend podman -- /bin/true" \
  -n runsc "$RUNSC" -n rf-gvisor "$RF --backend gvisor -- /bin/true" \
  -n bwrap "$BWRAP" -n rf-bwrap "$RF -- /bin/true" \
  -n runc "$RUNC" -n runsc-do "$RUNSC_DO" >&2

"$RFPY" - "$OUT.json" "$OUT.md" <<'PY'
import json, statistics, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def median(name): return statistics.median(runs[name]["times"]) * 1000
rows = ["| back-end | bare (median ms) | ringfence (median ms) | added | ratio | target <= 10% |", "|---|---:|---:|---:|---:|---|"]
for bare, rf in (("podman", "rf-podman"), ("runsc", "rf-gvisor"), ("bwrap", "rf-bwrap")):
    b, r = median(bare), median(rf)
    verdict = "met" if r <= b * 1.10 else "missed"
    rows.append(f"| {rf.removeprefix('rf-')} | {b:.1f} | {r:.1f} | +{r - b:.1f} ms | {r / b:.2f}x | {verdict} |")
rows.append("")
rows.append(f"For context, the OCI runtimes alone: `runc run` {median('runc'):.1f} ms, `runsc do` {median('runsc-do'):.1f} ms "
            "(what podman adds over them is podman's own).")
text = "\n".join(rows) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
# File-heavy work, the cost gVisor's gofer adds: 2,000 files of 1 KiB written, read back and
# removed in the workspace (a bind mount in every back-end), by one python3 process.
FILES='import os
for i in range(2000): open(f"rfb{i}", "w").write("x" * 1024)
for i in range(2000): open(f"rfb{i}").read()
for i in range(2000): os.remove(f"rfb{i}")'
say "hyperfine: file-heavy work in the workspace, $RUNS runs each"
env -u PYTHONDONTWRITEBYTECODE hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT-files.json" \
  -n rf-bwrap "$RF -- python3 -c '$FILES'" -n rf-podman "$RF --backend podman -- python3 -c '$FILES'" \
  -n rf-gvisor "$RF --backend gvisor -- python3 -c '$FILES'" \
  -n rf-bwrap-pass "$RF -- python3 -c pass" -n rf-podman-pass "$RF --backend podman -- python3 -c pass" \
  -n rf-gvisor-pass "$RF --backend gvisor -- python3 -c pass" >&2
"$RFPY" - "$OUT-files.json" "$OUT.md" <<'PY'
import json, statistics, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def median(name): return statistics.median(runs[name]["times"]) * 1000
rows = ["", "| 2,000 files written, read, removed | total (median ms) | `python3 -c pass` | the files' share |",
        "|---|---:|---:|---:|"]
base = median("rf-bwrap") - median("rf-bwrap-pass")
for name in ("rf-bwrap", "rf-podman", "rf-gvisor"):
    total, idle = median(name), median(name + "-pass")
    rows.append(f"| {name.removeprefix('rf-')} | {total:.1f} | {idle:.1f} | {total - idle:.1f} ms ({(total - idle) / base:.1f}x bwrap) |")
text = "\n".join(rows) + "\n"
open(sys.argv[2], "a").write(text)
print(text)
PY
say "wrote $OUT.json, $OUT-files.json and $OUT.md"
