"""``ringfence proxy --listen unix:PATH|tcp:HOST:PORT``: the egress proxy on its own.

Same rules and audit log as inside ``ringfence run``; for containers, several sandboxes,
a cluster, and the benchmarks.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode, UsageError


def cmd_proxy(args: argparse.Namespace) -> int:
    from ringfence.audit.store import AuditLog
    from ringfence.proxy import ProxyConfig, serve_forever

    check_listen(args.listen)
    policy = policy_from_args(args)
    run_id = "proxy-" + secrets.token_hex(4)
    from ringfence.cli.run import _egress

    egress = _egress(policy, resolve=True)  # secrets resolved now: a missing one stops here
    if egress is not None:
        egress.start_refresher()
    port = int(args.listen.rpartition(":")[2]) if args.listen.startswith("tcp:") else 0
    config = ProxyConfig(rules=policy.network.rules(), run_id=run_id,
                         inspector=egress.inspector() if egress is not None else None,
                         tls=egress.tls() if egress is not None else None, gateway_port=port)
    if getattr(args, "audit_stdout", False):
        from ringfence.audit.jsonlines import JsonLinesAudit

        sink: AuditLog | JsonLinesAudit = JsonLinesAudit(sys.stdout)
    else:
        sink = AuditLog.open(policy.audit.path)
    with sink as audit:
        audit.start_run(run_id, f"ringfence proxy --listen {args.listen}", [str(s) for s in policy.sources])
        allowed = ", ".join(policy.network.allow) or "nothing"

        def ready() -> None:
            print(f"ringfence proxy: listening on {args.listen}; allowing {allowed}; audit {audit.path}",
                  file=sys.stderr, flush=True)

        status = ExitCode.SETUP
        try:
            serve_forever(config, audit, args.listen, on_ready=ready)
            status = ExitCode.OK
        finally:
            audit.end_run(run_id, status)
    return ExitCode.OK


def check_listen(listen: str) -> None:
    """``unix:PATH`` or ``tcp:HOST:PORT`` with a port from 1 to 65535; else a usage error."""
    kind, _, rest = listen.partition(":")
    host, _, port = rest.rpartition(":")
    if kind == "unix" and rest:
        return
    if kind == "tcp" and host and port.isdigit() and 0 < int(port) < 65536:
        return
    raise UsageError(
        f"--listen {listen!r} is not a listen address",
        hint="give unix:PATH or tcp:HOST:PORT (PORT from 1 to 65535), e.g. tcp:127.0.0.1:3128",
    )
