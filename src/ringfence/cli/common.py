"""Helpers shared by the commands: policy from flags."""

from __future__ import annotations

import os

from ringfence.policy import Overrides, Policy, load_policy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse


def _abs(path: str | os.PathLike[str]) -> str:
    """A flag's path: ``~`` expanded, relative to the current directory."""
    return os.path.normpath(os.path.join(os.getcwd(), os.path.expanduser(os.fspath(path))))


def policy_from_args(args: argparse.Namespace) -> Policy:
    """Load the layered policy and add what the flags say (flag paths are relative to cwd)."""
    overrides = Overrides(
        workspace=_abs(args.workspace) if args.workspace else None,
        allow_domains=list(args.allow_domain),
        allow_write=[_abs(p) for p in args.allow_write],
        deny_read=[_abs(p) for p in args.deny_read],
        no_network=args.no_network,
        no_mask=getattr(args, "no_mask", False),
    )
    policy_file = _abs(args.policy) if args.policy else None
    return load_policy(policy_file=policy_file, overrides=overrides)
