"""``ringfence doctor``: what the sandbox needs, checked for real, with fixes."""

from __future__ import annotations

import argparse
import json
from ringfence._struct import asdict

from ringfence.errors import ExitCode


def cmd_doctor(args: argparse.Namespace) -> int:
    from ringfence.sandbox.doctor import run_checks

    checks = run_checks()
    failed = [c for c in checks if c.required and not c.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for check in checks:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            print(f"[{mark}] {check.name}: {check.detail}")
            if not check.ok and check.fix:
                print(f"       fix: {check.fix}")
        print("ready: ringfence run works here" if not failed else f"{len(failed)} problem(s): fix them, then rerun")
    return ExitCode.OK if not failed else ExitCode.SETUP
