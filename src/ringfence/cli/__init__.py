"""The command line: parses arguments, calls the areas, prints, exits.

Only this package prints or exits. Heavy modules are imported inside the command that
needs them: ``ringfence run`` must start fast.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from ringfence import __version__
from ringfence.errors import ExitCode, RingfenceError


TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse


def _policy_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="FILE", help="project policy (default: ./ringfence.toml)")
    p.add_argument("--workspace", metavar="DIR", help="the folder the agent works in (default: .)")
    p.add_argument("--allow-domain", action="append", default=[], metavar="D", help="also allow this host rule")
    p.add_argument("--allow-write", action="append", default=[], metavar="P", help="also writable")
    p.add_argument("--deny-read", action="append", default=[], metavar="P", help="also hidden")
    p.add_argument("--no-network", action="store_true", help="no proxy: nothing is reachable")


def _permission_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="FILE", help="project policy (default: ringfence.toml in the working folder)")
    p.add_argument("--claude-settings", metavar="auto|PATH",
                   help="also read the permissions of Claude Code's settings files")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="ringfence",
        description="Run an AI agent inside an isolation boundary whose only way out is an audited egress proxy.",
    )
    parser.add_argument("--version", action="version", version=f"ringfence {__version__}")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")

    run = sub.add_parser("run", help="run a command inside the sandbox", description="ringfence run [flags] -- CMD")
    _policy_flags(run)
    run.add_argument("--user", metavar="USER", help="(as root) the account the agent runs as")
    run.add_argument("--dry-run", action="store_true", help="print the plan as JSON and run nothing")
    run.add_argument("--no-mask", action="store_true",
                     help="show the agent the workspace's credential files and secrets as they are")
    run.add_argument("--backend", choices=["bwrap", "podman", "gvisor", "docker"], default="bwrap",
                     help="bwrap (default); podman: the hardened container ([container] image or rootfs; rootless needs --allow-degraded); "
                     "gvisor: the same container on gVisor's runsc; docker: the same for Docker Engine ([container] "
                     "image with python3 for the proxy's bridge)")
    run.add_argument("--allow-degraded", action="store_true",
                     help="run even when the back-end cannot apply part of the policy (rootless podman: "
                     "limits, a non-root user inside); each gap is named")
    run.add_argument("--overlay", action="store_true",
                     help="every write lands in a layer a person reviews (`ringfence changes`, `apply`, `discard`)")
    run.add_argument("--layer", metavar="NAME", help="the layer's name (default: default); implies --overlay")
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")

    proxy = sub.add_parser("proxy", help="run the egress proxy on its own")
    _policy_flags(proxy)
    proxy.add_argument("--listen", required=True, metavar="unix:PATH|tcp:HOST:PORT")
    proxy.add_argument("--audit-stdout", action="store_true",
                       help="write the audit records as JSON lines on standard output instead of SQLite")

    log = sub.add_parser("log", help="show the latest audit records")
    log.add_argument("--denied", action="store_true", help="only refusals")
    log.add_argument("--since", metavar="AGE", help="only newer records, e.g. 10m, 2h, 1d")
    log.add_argument("--run", metavar="RUN_ID", help="only this run")
    log.add_argument("--credential", metavar="NAME", help="only requests this credential was injected into")
    log.add_argument("--runs", action="store_true",
                     help="the runs instead: command, back-end, exit status, and what a degraded run ran without")
    log.add_argument("--degraded", action="store_true",
                     help="with --runs: only the runs that ran without something (--allow-degraded)")
    log.add_argument("--limit", type=int, default=50)
    log.add_argument("--json", action="store_true", help="JSON lines")
    log.add_argument("--audit", metavar="PATH", help="audit database (default: from the policy)")
    log.add_argument("--policy", metavar="FILE")

    doctor = sub.add_parser("doctor", help="check what the sandbox needs and print fixes")
    doctor.add_argument("--json", action="store_true")

    check = sub.add_parser("check", help="decide a command or tool call with the permission engine",
                           description="ringfence check -- 'CMD'  |  ringfence check --tool Read --input JSON. "
                           "Exit 0 allow, 1 deny, 4 ask.")
    _permission_flags(check)
    check.add_argument("--tool", metavar="NAME", help="a tool name (Read, Edit, WebFetch, mcp__srv__tool, ...)")
    check.add_argument("--input", metavar="JSON", help="the tool's input, a JSON object")
    check.add_argument("--cwd", metavar="DIR", help="the working folder the call is decided for (default: .)")
    check.add_argument("--json", action="store_true")
    check.add_argument("command", nargs=argparse.REMAINDER, help="a shell command, after --")

    hook = sub.add_parser("hook", help="run as an agent's permission hook")
    hook_sub = hook.add_subparsers(dest="hook_cmd", metavar="{claude-code,install}", required=True)
    claude_code = hook_sub.add_parser("claude-code", help="Claude Code's PreToolUse hook: the event on stdin")
    _permission_flags(claude_code)
    install = hook_sub.add_parser("install", help="add the hook to Claude Code's settings.json (idempotent)")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--project", dest="project_dir", nargs="?", const="", metavar="DIR",
                       help="the project's .claude/settings.json (default; DIR defaults to .)")
    where.add_argument("--user", action="store_true", help="~/.claude/settings.json")

    scan = sub.add_parser(
        "scan", help="find credential files and secrets in a folder (never printing them)",
        description="Scan PATH for credential files (by name) and secrets (by content), including what "
        ".gitignore hides. Exit 0 clean, 1 findings, 2 usage error.",
    )
    scan.add_argument("path", metavar="PATH", nargs="?", default=".", help="the folder (default: .)")
    form = scan.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the findings as JSON")
    form.add_argument("--sarif", action="store_true", help="a SARIF 2.1.0 log, for code-scanning tools")
    scan.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                      help="leave paths out (gitignore syntax, as in .ringfenceignore); repeatable")
    scan.add_argument("--out", metavar="FILE", help="write the report to FILE instead of standard output")

    copy = sub.add_parser(
        "copy", help="make a sanitized copy of a folder: no credential files, secrets masked",
        description="Copy SRC to the new folder DST, leaving out what .ringfenceignore, SRC/.dockerignore and "
        "--exclude name and every credential file, with secrets in other files masked; links that leave SRC "
        "are not followed. Prints what was left out.",
    )
    copy.add_argument("source", metavar="SRC")
    copy.add_argument("destination", metavar="DST")
    copy.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                      help="also leave these out (gitignore syntax); repeatable")
    copy.add_argument("--json", action="store_true", help="the summary as JSON")

    export = sub.add_parser(
        "export", help="compile the policy for another enforcement point (seccomp: a container profile)",
        description="Print (or --out) what the merged policy compiles to. seccomp: a Docker/OCI seccomp "
        "profile, for `podman|docker run --security-opt seccomp=FILE`. compose: --out DIR gets compose.yaml "
        "(the hardened agent service and the proxy service on an internal network), the proxy's policy and "
        "the seccomp profile. docker, podman: the same with run.sh (engine commands) instead of compose.yaml. "
        "kubernetes: the proxy (Deployment, Service, its policy in a ConfigMap), "
        "NetworkPolicies, and the agent as an agent-sandbox SandboxTemplate and a plain Deployment. envoy: an "
        "Envoy bootstrap with the allowlist and credential_injector filters.",
    )
    export.add_argument("format", choices=["seccomp", "compose", "docker", "podman", "kubernetes", "envoy"],
                        help="what to emit")
    export.add_argument("--namespace", default="ringfence", help="kubernetes: the namespace (default: ringfence)")
    _policy_flags(export)
    export.add_argument("--arch", default=None, help="seccomp: x86_64 or aarch64 (default: this machine)")
    export.add_argument("--out", metavar="PATH",
                        help="seccomp: write FILE (whole or not at all); compose: the folder for the bundle (required)")

    lint = sub.add_parser(
        "lint", help="list the gaps of a docker/podman run line, a compose file or Kubernetes manifests",
        description="Read FILE (a shell script with `docker run` / `podman run`, a Compose file, or Kubernetes "
        "manifests) and list every gap against the guide's hardened baseline, with the reason and the fix. "
        "Exit 0 when there is none, 1 when there are, 2 when FILE cannot be read.",
    )
    lint.add_argument("file", metavar="FILE", help="the file ('-': standard input)")
    lint.add_argument("--json", action="store_true", help="the gaps as JSON")

    for name, what in (("changes", "list what a --overlay run wrote (A/M/D/R, sizes), --diff for a diff"),
                       ("apply", "apply a layer's changes (all, or those under PATHS) to the workspace"),
                       ("discard", "drop a layer and everything in it")):
        layer = sub.add_parser(name, help=what, description=f"ringfence {name}: {what}.")
        layer.add_argument("--layer", metavar="NAME", default="default", help="the layer (default: default)")
        layer.add_argument("--workspace", metavar="DIR", help="the workspace (default: as `ringfence run` finds it)")
        layer.add_argument("--policy", metavar="FILE", help="project policy (default: ringfence.toml in the working folder)")
        if name == "changes":
            layer.add_argument("--diff", action="store_true", help="a unified diff (binary files summarised)")
            layer.add_argument("--json", action="store_true", help="the changes as JSON")
        if name == "apply":
            layer.add_argument("paths", nargs="*", metavar="PATH", help="only the changes under these paths")
            layer.add_argument("--force", action="store_true",
                               help="apply even where the real file changed since the layer began")

    ca = sub.add_parser(
        "ca",
        help="show, export or rotate the CA that signs the certificates of TLS-terminated hosts",
        description="The CA lives in ~/.local/share/ringfence/ca (the environment variable "
        "RINGFENCE_STATE_DIR names another state folder); it is created on first use.",
    )
    ca_sub = ca.add_subparsers(dest="ca_cmd", metavar="{show,export,rotate}", required=True)
    ca_show = ca_sub.add_parser("show", help="where the CA is, its fingerprint and validity, and how to trust it")
    ca_show.add_argument("--json", action="store_true")
    ca_export = ca_sub.add_parser("export", help="print the CA certificate (PEM; never the key)")
    ca_export.add_argument("--out", metavar="FILE", help="write it to FILE instead of standard output")
    ca_sub.add_parser("rotate", help="make a new CA; the old one moves to ca/old/ (running proxies keep it until restarted)")
    return parser


# `ringfence run`'s flags, parsed without building the argparse parser (whose help
# formatter alone loads shutil and locale): start-up time is a feature. Anything this
# does not understand (--help, a typo) goes to argparse, which explains.
_RUN_VALUE_FLAGS = {
    "--policy": "policy",
    "--workspace": "workspace",
    "--allow-domain": "allow_domain",
    "--allow-write": "allow_write",
    "--deny-read": "deny_read",
    "--user": "user",
    "--layer": "layer",
    "--backend": "backend",
}
_RUN_SWITCHES = {"--no-network": "no_network", "--dry-run": "dry_run", "--no-mask": "no_mask", "--overlay": "overlay",
                 "--allow-degraded": "allow_degraded"}
_REPEATED = {"allow_domain", "allow_write", "deny_read"}


def parse_run_fast(argv: list[str]) -> argparse.Namespace | None:
    """``run [flags] [--] CMD...`` as argparse would parse it, or None to let argparse do it."""
    
    values: dict[str, object] = {"cmd": "run", "policy": None, "workspace": None, "allow_domain": [],
                                 "allow_write": [], "deny_read": [], "no_network": False, "user": None,
                                 "dry_run": False, "no_mask": False, "overlay": False, "layer": None, "backend": "bwrap",
                                 "allow_degraded": False,
                                 "command": []}
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or not arg.startswith("-"):
            values["command"] = argv[i:]
            return SimpleNamespace(**values)  # type: ignore[return-value]  # duck-types Namespace
        flag, eq, inline = arg.partition("=")
        if flag in _RUN_SWITCHES and not eq:
            values[_RUN_SWITCHES[flag]] = True
        elif flag in _RUN_VALUE_FLAGS:
            if not eq:
                i += 1
                if i >= len(argv):
                    return None
                inline = argv[i]
            name = _RUN_VALUE_FLAGS[flag]
            value: object = inline
            if name in _REPEATED:
                values[name].append(value)  # type: ignore[attr-defined]
            else:
                values[name] = value
        else:
            return None
        i += 1
    return SimpleNamespace(**values)  # type: ignore[return-value]


def parse_hook_fast(argv: list[str]) -> argparse.Namespace | None:
    """``hook claude-code [--policy F] [--claude-settings S]`` without argparse: Claude Code
    starts the hook for every tool call, so its start-up is on the agent's critical path."""
    values: dict[str, object] = {"cmd": "hook", "hook_cmd": "claude-code", "policy": None, "claude_settings": None}
    flags = {"--policy": "policy", "--claude-settings": "claude_settings"}
    rest = argv[2:]
    while rest:
        flag, eq, inline = rest[0].partition("=")
        if flag not in flags or (not eq and len(rest) < 2):
            return None
        values[flags[flag]] = inline if eq else rest[1]
        rest = rest[1:] if eq else rest[2:]
    return SimpleNamespace(**values)  # type: ignore[return-value]  # duck-types Namespace


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_run_fast(argv) if argv[:1] == ["run"] else None
    if argv[:2] == ["hook", "claude-code"]:
        args = parse_hook_fast(argv)
    if args is None:
        parser = build_parser()
        args = parser.parse_args(argv)
    if args.cmd is None:
        build_parser().print_help()
        return ExitCode.USAGE
    try:
        if args.cmd == "run":
            from ringfence.cli.run import cmd_run

            return cmd_run(args)
        if args.cmd == "proxy":
            from ringfence.cli.proxy import cmd_proxy

            return int(cmd_proxy(args))
        if args.cmd == "log":
            from ringfence.cli.log import cmd_log

            return cmd_log(args)
        if args.cmd == "check":
            from ringfence.cli.check import cmd_check

            return cmd_check(args)
        if args.cmd == "hook":
            from ringfence.cli.check import cmd_hook

            return cmd_hook(args)
        if args.cmd == "scan":
            from ringfence.cli.scan import cmd_scan

            return cmd_scan(args)
        if args.cmd == "copy":
            from ringfence.cli.scan import cmd_copy

            return cmd_copy(args)
        if args.cmd == "lint":
            from ringfence.cli.export import cmd_lint

            return cmd_lint(args)
        if args.cmd == "export":
            from ringfence.cli.export import cmd_export

            return cmd_export(args)
        if args.cmd in ("changes", "apply", "discard"):
            from ringfence.cli.layers import cmd_layer

            return cmd_layer(args)
        if args.cmd == "ca":
            from ringfence.cli.ca import cmd_ca

            return cmd_ca(args)
        from ringfence.cli.doctor import cmd_doctor

        return cmd_doctor(args)
    except RingfenceError as exc:
        print(f"ringfence: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130


def run_main() -> None:
    status = main()
    # Every command has closed what it opened (the audit log, the proxy) by now; skipping the
    # interpreter's finalisation saves start-up-sized time on every run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
