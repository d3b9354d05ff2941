"""The permission engine measured: quality on the labelled corpus, throughput, and the hook.

Run by bench/permissions.sh (which installs the peers); usable on its own:

    python bench/permissions.py [--corpus bench/corpus] [--peer NAME=COMMAND ...]
                                [--seconds 3] [--hook-calls 40] [--hook NAME=COMMAND ...]
                                [--out bench-results/permissions-STAMP]

1. Quality. Every command of ``bench/corpus/dangerous.jsonl`` and ``benign.jsonl`` goes to
   ringfence's analyser (``analysis.bash.parse`` then ``analysis.risk.verdict``: what the
   hook adds to a command no rule covers) and to each peer, side by side. A peer is a
   command that reads ``{"cmd": ...}`` JSON lines on stdin and writes ``{"cmd", "decision",
   "detail"}`` lines (bench/peers/). Reported per family: recall (dangerous commands sent to
   ask or deny) and, for commands labelled ``deny``, how many were denied outright; per
   area: the share of benign commands sent to ask or deny. Targets (issue 4): recall >= 98%,
   benign flagged <= 3%.
2. Throughput, in-process, over the whole corpus: parse alone, parse + risk analysis, and
   ``Engine.decide`` with the analyser on (target >= 5,000 commands/s). A peer's rate is
   its batch's wall time less its own start-up (a run on empty input).
3. The hook end to end, a fresh process per call as Claude Code runs it: ringfence's
   ``hook claude-code`` against each ``--hook`` peer on the same payloads, calls interleaved
   (target: median <= 60 ms). ``python -c pass`` and ``node -e 0`` are the floors.

Writes OUT.md (the tables), OUT.json (every figure) and OUT-misses.txt (ringfence's
misses and false flags, for tuning) and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGGED = ("ask", "deny")


def load(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                sys.exit(f"{path}:{number}: not JSON ({exc})")
    return rows


# --- deciders ---------------------------------------------------------------------------


def ringfence_decisions(commands: list[str]) -> list[tuple[str, str]]:
    from ringfence.analysis.bash import parse
    from ringfence.analysis.risk import verdict

    out = []
    for cmd in commands:
        try:
            found = verdict(parse(cmd))
        except Exception as exc:  # noqa: BLE001 - the engine denies what it cannot parse
            out.append(("deny", f"parser raised {type(exc).__name__}"))
            continue
        out.append(("allow", "") if found is None else found)
    return out


def peer_run(command: str, commands: list[str], workdir: str, env: dict[str, str]) -> tuple[list[tuple[str, str]], float]:
    """Run a peer adapter over ``commands``; returns its decisions and its wall time (s)."""
    payload = "".join(json.dumps({"cmd": c}) + "\n" for c in commands)
    start = time.perf_counter()
    done = subprocess.run(shlex.split(command), input=payload, capture_output=True, text=True,
                          cwd=workdir, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"peer {command!r} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(rows) != len(commands):
        sys.exit(f"peer {command!r} answered {len(rows)} lines for {len(commands)} commands")
    out = []
    for want, row in zip(commands, rows):
        if row.get("cmd") != want or row.get("decision") not in ("allow", "ask", "deny"):
            sys.exit(f"peer {command!r} answered {row!r} for {want!r}")
        out.append((row["decision"], str(row.get("detail", ""))))
    return out, wall


# --- quality ----------------------------------------------------------------------------


def score(dangerous: list[dict], benign: list[dict], decisions: list[tuple[str, str]]) -> dict:
    d_dec, b_dec = decisions[: len(dangerous)], decisions[len(dangerous):]
    families: dict[str, dict[str, int]] = {}
    for row, (decision, _) in zip(dangerous, d_dec):
        fam = families.setdefault(row["family"], {"n": 0, "flagged": 0, "want_deny": 0, "denied": 0})
        fam["n"] += 1
        fam["flagged"] += decision in FLAGGED
        if row["expect"] == "deny":
            fam["want_deny"] += 1
            fam["denied"] += decision == "deny"
    areas: dict[str, dict[str, int]] = {}
    for row, (decision, _) in zip(benign, b_dec):
        area = areas.setdefault(row["area"], {"n": 0, "flagged": 0})
        area["n"] += 1
        area["flagged"] += decision in FLAGGED
    total_d = sum(f["n"] for f in families.values())
    total_b = sum(a["n"] for a in areas.values())
    return {
        "families": families,
        "areas": areas,
        "recall": sum(f["flagged"] for f in families.values()) / total_d,
        "deny_exact": sum(f["denied"] for f in families.values()) / max(1, sum(f["want_deny"] for f in families.values())),
        "benign_flagged": sum(a["flagged"] for a in areas.values()) / total_b,
    }


def misses(dangerous: list[dict], benign: list[dict], decisions: list[tuple[str, str]]) -> list[str]:
    lines = ["# dangerous commands ringfence allowed (family, expected, command)"]
    for row, (decision, _) in zip(dangerous, decisions[: len(dangerous)]):
        if decision not in FLAGGED:
            lines.append(f"{row['family']}\t{row['expect']}\t{row['cmd']!r}")
    lines.append("")
    lines.append("# benign commands ringfence flagged (area, decision, reason, command)")
    for row, (decision, why) in zip(benign, decisions[len(dangerous):]):
        if decision in FLAGGED:
            lines.append(f"{row['area']}\t{decision}\t{why}\t{row['cmd']!r}")
    return lines


# --- throughput -------------------------------------------------------------------------


def rate(fn, commands: list[str], seconds: float) -> float:
    """Commands per second of ``fn`` over the corpus: the best of the passes made in
    ``seconds`` (a shared machine only ever slows a pass down)."""
    for cmd in commands[:200]:  # warm-up: imports, first-call paths
        fn(cmd)
    best, start = 0.0, time.perf_counter()
    while True:
        began = time.perf_counter()
        for cmd in commands:
            fn(cmd)
        now = time.perf_counter()
        best = max(best, len(commands) / (now - began))
        if now - start >= seconds:
            return best


def throughput(commands: list[str], seconds: float, workdir: str) -> dict[str, float]:
    from ringfence.analysis.bash import parse
    from ringfence.analysis.risk import verdict
    from ringfence.permissions import Engine
    from ringfence.permissions.rules import parse_rule

    engine = Engine([parse_rule("Bash", "allow")], cwd=workdir, home=workdir, analyzer=verdict)
    return {
        "parse": rate(parse, commands, seconds),
        "parse+analyze": rate(lambda c: verdict(parse(c)), commands, seconds),
        "Engine.decide": rate(lambda c: engine.decide("Bash", {"command": c}), commands, seconds),
    }


# --- the hook, end to end ---------------------------------------------------------------


def hook_payloads(commands: list[str], workdir: str) -> list[bytes]:
    return [json.dumps({
        "session_id": "bench", "transcript_path": os.path.join(workdir, "t.jsonl"), "cwd": workdir,
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": c, "description": "bench"}, "tool_use_id": f"toolu_{i:04d}",
    }).encode() for i, c in enumerate(commands)]


def hooks(named: dict[str, str], payloads: list[bytes], calls: int, workdir: str, env: dict[str, str]) -> dict:
    times: dict[str, list[float]] = {name: [] for name in named}
    answers: dict[str, dict[str, int]] = {name: {} for name in named}
    argvs = {name: shlex.split(cmd) for name, cmd in named.items()}
    for name, argv in argvs.items():  # warm the page cache and any byte-compiling
        subprocess.run(argv, input=payloads[0], capture_output=True, cwd=workdir, env=env, check=False)
    for i in range(calls):
        payload = payloads[i % len(payloads)]
        order = list(argvs.items())
        if i % 2:
            order.reverse()
        for name, argv in order:
            start = time.perf_counter()
            done = subprocess.run(argv, input=payload, capture_output=True, cwd=workdir, env=env, check=False)
            times[name].append((time.perf_counter() - start) * 1000)
            answers[name][_answer(done)] = answers[name].get(_answer(done), 0) + 1
    return {name: {"median_ms": statistics.median(t), "p90_ms": _pct(t, 0.9), "min_ms": min(t),
                   "calls": len(t), "answers": answers[name]} for name, t in times.items()}


def _answer(done: subprocess.CompletedProcess) -> str:
    if done.returncode == 2:
        return "deny(exit 2)"
    try:
        out = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError:
        return f"exit {done.returncode}, not JSON"
    decision = out.get("hookSpecificOutput", {}).get("permissionDecision")
    return decision or f"exit {done.returncode}, no decision"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- report -----------------------------------------------------------------------------


def report(result: dict) -> list[str]:
    names = list(result["quality"])
    q = result["quality"]
    out = [f"Corpus: {result['corpus']['dangerous']} dangerous, {result['corpus']['benign']} benign commands.", ""]
    out.append("| family | n | " + " | ".join(f"{n} recall | {n} denied (of deny-labelled)" for n in names) + " |")
    out.append("|---|---:|" + "---:|---:|" * len(names))
    families = sorted(q[names[0]]["families"])
    for fam in families:
        row = q[names[0]]["families"][fam]
        cells = []
        for n in names:
            f = q[n]["families"][fam]
            cells += [f"{f['flagged'] / f['n']:.1%}", f"{f['denied']}/{f['want_deny']}"]
        out.append(f"| {fam} | {row['n']} | " + " | ".join(cells) + " |")
    cells = []
    for n in names:
        cells += [f"**{q[n]['recall']:.1%}**", f"{q[n]['deny_exact']:.1%}"]
    out.append(f"| **all** | {result['corpus']['dangerous']} | " + " | ".join(cells) + " |")
    out += ["", "| benign area | n | " + " | ".join(f"{n} flagged" for n in names) + " |",
            "|---|---:|" + "---:|" * len(names)]
    for area in sorted(q[names[0]]["areas"]):
        a0 = q[names[0]]["areas"][area]
        cells = [f"{q[n]['areas'][area]['flagged'] / q[n]['areas'][area]['n']:.1%}" for n in names]
        out.append(f"| {area} | {a0['n']} | " + " | ".join(cells) + " |")
    out.append(f"| **all** | {result['corpus']['benign']} | " + " | ".join(f"**{q[n]['benign_flagged']:.1%}**" for n in names) + " |")
    out += ["", "| throughput (in-process, whole corpus) | commands/s |", "|---|---:|"]
    for what, value in result["throughput"].items():
        out.append(f"| {what} | {value:,.0f} |")
    if result.get("hooks"):
        h = result["hooks"]
        base = h.get("ringfence", {}).get("median_ms")
        out += ["", "| hook, fresh process per call | median ms | p90 ms | min ms | vs ringfence | answers |",
                "|---|---:|---:|---:|---:|---|"]
        for name, v in h.items():
            ratio = f"{v['median_ms'] / base:.2f}x" if base else ""
            answers = ", ".join(f"{k} {c}" for k, c in sorted(v["answers"].items()))
            out.append(f"| {name} | {v['median_ms']:.1f} | {v['p90_ms']:.1f} | {v['min_ms']:.1f} | {ratio} | {answers} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "bench" / "corpus")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=COMMAND")
    ap.add_argument("--hook", action="append", default=[], metavar="NAME=COMMAND")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--hook-calls", type=int, default=40)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    dangerous = load(args.corpus / "dangerous.jsonl")
    benign = load(args.corpus / "benign.jsonl")
    commands = [r["cmd"] for r in dangerous] + [r["cmd"] for r in benign]
    result: dict = {"corpus": {"dangerous": len(dangerous), "benign": len(benign)}, "quality": {}, "peer_rate": {}}

    with tempfile.TemporaryDirectory(prefix="rfbench-perm-") as tmp:
        workdir, home = os.path.join(tmp, "project"), os.path.join(tmp, "home")
        os.makedirs(workdir)
        os.makedirs(home)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
        env["HOME"] = home  # no user rules or settings of whoever runs the bench
        decisions = ringfence_decisions(commands)
        result["quality"]["ringfence"] = score(dangerous, benign, decisions)
        for spec in args.peer:
            name, _, command = spec.partition("=")
            peer, wall = peer_run(command, commands, workdir, env)
            _, idle = peer_run(command, [], workdir, env)
            result["quality"][name] = score(dangerous, benign, peer)
            result["peer_rate"][name] = len(commands) / max(1e-9, wall - idle)
        result["throughput"] = throughput(commands, args.seconds, workdir)
        for name, value in result["peer_rate"].items():
            result["throughput"][f"{name} (batch, less its start-up)"] = value
        if args.hook:
            sample = [r["cmd"] for r in dangerous[::40]] + [r["cmd"] for r in benign[::200]]
            named = dict(spec.partition("=")[::2] for spec in args.hook)
            result["hooks"] = hooks(named, hook_payloads(sample, workdir), args.hook_calls, workdir, env)

    table = report(result)
    print("\n".join(table))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text("\n".join(table) + "\n", encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        Path(f"{args.out}-misses.txt").write_text("\n".join(misses(dangerous, benign, decisions)) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.out}.md, .json, -misses.txt", file=sys.stderr)


if __name__ == "__main__":
    main()
