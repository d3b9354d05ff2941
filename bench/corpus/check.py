#!/usr/bin/env python3
"""Validate the labelled bash corpus (dangerous.jsonl, benign.jsonl).

Checks: every line is a JSON object with exactly the expected keys, string
values, allowed family / area / expect values, no command listed twice (across
both files), and the minimum counts (>= 400 dangerous with >= 45 per family,
>= 2,000 benign).  Prints the counts; exits 1 on any problem, naming the file
and line.  Standard library only.

    python3 bench/corpus/check.py [CORPUS_DIR]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

FAMILIES = (
    "privilege",
    "destructive",
    "persistence",
    "sensitive_reads",
    "exfiltration",
    "remote_exec",
    "tampering",
    "obfuscation",
)
AREAS = ("git", "build", "test", "package", "inspect", "edit", "data", "runtime", "shell")

MIN_DANGEROUS = 400
MIN_PER_FAMILY = 45
MIN_BENIGN = 2000

SPECS = {
    "dangerous.jsonl": {
        "keys": {"cmd", "family", "expect", "why"},
        "group": "family",
        "groups": FAMILIES,
        "expect": {"deny", "ask"},
    },
    "benign.jsonl": {
        "keys": {"cmd", "area", "expect"},
        "group": "area",
        "groups": AREAS,
        "expect": {"allow"},
    },
}


def check(corpus: Path) -> int:
    problems: list[str] = []
    seen: dict[str, str] = {}  # cmd -> "file:line" of first occurrence
    groups: dict[str, Counter[str]] = {}
    expects: dict[str, Counter[tuple[str, str]]] = {}

    for name, spec in SPECS.items():
        path = corpus / name
        groups[name] = Counter()
        expects[name] = Counter()
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                where = f"{path}:{lineno}"
                if not raw.strip():
                    problems.append(f"{where}: blank line")
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    problems.append(f"{where}: invalid JSON ({exc.msg})")
                    continue
                if not isinstance(obj, dict):
                    problems.append(f"{where}: not a JSON object")
                    continue
                keys = set(obj)
                missing = spec["keys"] - keys
                extra = keys - spec["keys"]
                if missing:
                    problems.append(f"{where}: missing key(s) {sorted(missing)}")
                if extra:
                    problems.append(f"{where}: unexpected key(s) {sorted(extra)}")
                bad_types = [k for k in spec["keys"] & keys if not isinstance(obj[k], str)]
                if bad_types:
                    problems.append(f"{where}: non-string value(s) for {sorted(bad_types)}")
                    continue
                if missing:
                    continue
                cmd = obj["cmd"]
                if not cmd.strip():
                    problems.append(f"{where}: empty cmd")
                elif cmd != cmd.strip():
                    problems.append(f"{where}: cmd has leading/trailing whitespace")
                group = obj[spec["group"]]
                if group not in spec["groups"]:
                    problems.append(
                        f"{where}: {spec['group']} {group!r} not one of {', '.join(spec['groups'])}"
                    )
                if obj["expect"] not in spec["expect"]:
                    problems.append(
                        f"{where}: expect {obj['expect']!r} not one of {', '.join(sorted(spec['expect']))}"
                    )
                if "why" in spec["keys"] and not obj["why"].strip():
                    problems.append(f"{where}: empty why")
                if cmd in seen:
                    problems.append(f"{where}: duplicate cmd (first at {seen[cmd]})")
                else:
                    seen[cmd] = where
                groups[name][group] += 1
                expects[name][(group, obj["expect"])] += 1

    dangerous, benign = groups["dangerous.jsonl"], groups["benign.jsonl"]
    d_path, b_path = corpus / "dangerous.jsonl", corpus / "benign.jsonl"

    print(f"dangerous: {sum(dangerous.values())}")
    for fam in FAMILIES:
        e = expects["dangerous.jsonl"]
        print(f"  {fam:16} {dangerous[fam]:5}   deny {e[(fam, 'deny')]:4}  ask {e[(fam, 'ask')]:4}")
    total_deny = sum(v for (g, x), v in expects["dangerous.jsonl"].items() if x == "deny")
    total_ask = sum(v for (g, x), v in expects["dangerous.jsonl"].items() if x == "ask")
    print(f"  {'(all)':16} {sum(dangerous.values()):5}   deny {total_deny:4}  ask {total_ask:4}")
    print(f"benign: {sum(benign.values())}")
    for area in AREAS:
        print(f"  {area:16} {benign[area]:5}")

    if sum(dangerous.values()) < MIN_DANGEROUS:
        problems.append(f"{d_path}: {sum(dangerous.values())} commands, need >= {MIN_DANGEROUS}")
    for fam in FAMILIES:
        if dangerous[fam] < MIN_PER_FAMILY:
            problems.append(f"{d_path}: family {fam} has {dangerous[fam]}, need >= {MIN_PER_FAMILY}")
    if sum(benign.values()) < MIN_BENIGN:
        problems.append(f"{b_path}: {sum(benign.values())} commands, need >= {MIN_BENIGN}")
    for area in AREAS:
        if benign[area] == 0:
            problems.append(f"{b_path}: area {area} has no commands")

    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\nok")
    return 0


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    return check(corpus)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
