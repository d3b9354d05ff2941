"""``ringfence export FORMAT``: the merged policy compiled for another enforcement point."""

from __future__ import annotations

import sys

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from ringfence import __version__
    from ringfence.export.seccomp import profile

    policy = policy_from_args(args)
    sources = ", ".join(str(s) for s in policy.sources) or "the built-in defaults"
    from ringfence.export.seccomp import native_arch

    arch = args.arch or native_arch()
    if args.format in ("compose", "docker", "podman"):
        from ringfence.errors import UsageError
        from ringfence.export.compose import write_bundle

        if not args.out:
            raise UsageError(f"export {args.format} writes three files", hint="pass --out DIR")
        header = f"ringfence {__version__} {args.format} bundle, from {sources}"
        written = write_bundle(policy, args.out, header, arch, engine=args.format)
        for path in written:
            print(path)
        how = (f"`docker compose -f {written[-1]} up` (or podman compose)" if args.format == "compose"
               else f"`sh {written[-1]} [CMD...]`")
        print(f"ringfence: {how} runs the agent behind the proxy", file=sys.stderr)
        return ExitCode.OK
    if args.format == "envoy":
        import yaml

        from ringfence.export.envoy import bootstrap

        header = f"ringfence {__version__} Envoy bootstrap, from {sources}"
        text = f"# {header}\n" + yaml.safe_dump(bootstrap(policy, header), sort_keys=False, default_flow_style=False)
        if args.out:
            from ringfence._files import write_atomic

            write_atomic(args.out, text)
        else:
            sys.stdout.write(text)
        return ExitCode.OK
    if args.format == "kubernetes":
        from ringfence.export.kubernetes import manifests, write

        header = f"ringfence {__version__} Kubernetes manifests, from {sources}"
        objects, create_secret = manifests(policy, header, namespace=args.namespace)
        text = write(objects, header, create_secret, args.out)
        if args.out:
            print(f"ringfence: wrote {args.out} ({len(objects)} objects); create the Secret first: {create_secret}",
                  file=sys.stderr)
        else:
            sys.stdout.write(text)
        return ExitCode.OK
    header = f"ringfence {__version__} seccomp profile, from {sources}"
    text = json.dumps(profile(policy, arch, header), indent=2) + "\n"
    if args.out:
        from ringfence._files import write_atomic

        write_atomic(args.out, text)
        print(f"ringfence: wrote {args.out} ({arch}); use it with "
              f"`podman run --security-opt seccomp={args.out} ...`", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def cmd_lint(args: argparse.Namespace) -> int:
    from ringfence.export.lint import lint_file, lint_text

    if args.file == "-":
        kind, gaps = lint_text(sys.stdin.read(), "<stdin>")
    else:
        kind, gaps = lint_file(args.file)
    if args.json:
        import json

        print(json.dumps({"format": kind, "gaps": [g.to_json() for g in gaps]}, indent=2))
    else:
        for gap in gaps:
            print(f"{gap.severity:7} {gap.rule:24} {gap.where}: {gap.what}\n"
                  f"        why: {gap.why}\n        fix: {gap.fix}")
        errors = sum(g.severity == "error" for g in gaps)
        print(f"ringfence: {args.file} ({kind}): {len(gaps)} gap(s), {errors} error(s)"
              if gaps else f"ringfence: {args.file} ({kind}): meets the guide's baseline", file=sys.stderr)
    return ExitCode.FINDINGS if gaps else ExitCode.OK
