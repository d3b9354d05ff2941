"""``ringfence proxy --listen unix:PATH|tcp:HOST:PORT``: the egress proxy on its own.

Same rules and audit log as inside ``ringfence run``; for containers, several sandboxes,
a cluster, and the benchmarks.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode, PolicyError


def cmd_proxy(args: argparse.Namespace) -> int:
    from ringfence.audit.store import AuditLog
    from ringfence.proxy import ProxyConfig, serve_forever

    if not args.listen.startswith(("unix:", "tcp:")):
        raise PolicyError(f"--listen {args.listen!r} is not a listen address", expected="unix:PATH or tcp:HOST:PORT")
    policy = policy_from_args(args)
    run_id = "proxy-" + secrets.token_hex(4)
    config = ProxyConfig(rules=policy.network.rules(), run_id=run_id)
    with AuditLog.open(policy.audit.path) as audit:
        audit.start_run(run_id, f"ringfence proxy --listen {args.listen}", [str(s) for s in policy.sources])
        allowed = ", ".join(policy.network.allow) or "nothing"
        print(f"ringfence proxy: listening on {args.listen}; allowing {allowed}; audit {policy.audit.path}",
              file=sys.stderr)
        try:
            serve_forever(config, audit, args.listen)
        finally:
            audit.end_run(run_id, 0)
    return ExitCode.OK
