"""``ringfence scan PATH`` and ``ringfence copy SRC DST``: credential files and secrets in a
folder, never the secrets; and a sanitized copy without them.

Exit 0 when nothing was found, 1 when something was, 2 for a usage error (a path that is
not a folder). ``--json`` is the contract of ``workspace.report``; ``--sarif`` a SARIF
2.1.0 log; the default a table for a person.
"""

from __future__ import annotations

import sys

from ringfence.errors import ExitCode

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse


def cmd_scan(args: argparse.Namespace) -> int:
    from ringfence.workspace import report
    from ringfence.workspace.scan import scan

    result = scan(args.path, exclude=args.exclude)
    if args.json or args.sarif:
        import json

        text = json.dumps(report.as_sarif(result) if args.sarif else report.as_json(result), indent=2) + "\n"
    else:
        text = report.table(result)
    if args.out:
        from ringfence._files import write_atomic

        write_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    return ExitCode.FINDINGS if result.findings else ExitCode.OK


def cmd_copy(args: argparse.Namespace) -> int:
    from ringfence.workspace.copy import sanitized_copy

    summary = sanitized_copy(args.source, args.destination, exclude=args.exclude)
    if args.json:
        import json

        sys.stdout.write(json.dumps({
            "copied": summary.copied, "links": summary.links, "masked": list(summary.masked),
            "left_out": [{"file": f, "why": why} for f, why in summary.left_out],
        }, indent=2) + "\n")
        return ExitCode.OK
    lines = [f"copied {summary.copied} file{'s' if summary.copied != 1 else ''} and {summary.links} "
             f"link{'s' if summary.links != 1 else ''} to {args.destination}"]
    if summary.masked:
        lines.append(f"secrets masked in {len(summary.masked)}: " + ", ".join(summary.masked))
    for file, why in summary.left_out:
        lines.append(f"left out {file}: {why}")
    sys.stdout.write("\n".join(lines) + "\n")
    return ExitCode.OK
