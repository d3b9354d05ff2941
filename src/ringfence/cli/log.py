"""``ringfence log``: the latest audit records."""

from __future__ import annotations

import argparse
import time

from ringfence.errors import ExitCode, UsageError


def _audit_path(args: argparse.Namespace) -> str:
    if args.audit is not None:
        return str(args.audit)
    from ringfence.policy import load_policy

    return load_policy(policy_file=args.policy).audit.path


def cmd_log(args: argparse.Namespace) -> int:
    from ringfence.audit.queries import parse_since, query
    from ringfence.audit.render import render_json_lines, render_table

    since = None
    if args.since:
        try:
            since = time.time() - parse_since(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r} is not an age", hint="give one such as 30s, 10m, 2h or 1d") from None
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit} is not a count", hint="give 1 or more")
    if getattr(args, "runs", False):
        if args.denied or args.credential:
            raise UsageError("--runs lists runs, not connections: --denied and --credential do not apply",
                             hint="drop --denied / --credential, or drop --runs (--degraded: the runs that "
                             "ran without something)")
        from ringfence.audit.queries import runs
        from ringfence.audit.render import render_runs_json_lines, render_runs_table

        found = runs(_audit_path(args), since=since, run_id=args.run, limit=args.limit,
                     degraded_only=bool(getattr(args, "degraded", False)))
        text = render_runs_json_lines(found) if args.json else render_runs_table(found)
        print(text, end="")
        return ExitCode.OK
    if getattr(args, "degraded", False):
        raise UsageError("--degraded filters runs", hint="ringfence log --runs --degraded")
    rows = query(_audit_path(args), denied_only=args.denied, since=since, run_id=args.run,
                 credential=args.credential, limit=args.limit)
    text = render_json_lines(rows) if args.json else render_table(rows)
    if text:
        print(text, end="" if text.endswith("\n") else "\n")
    return ExitCode.OK
