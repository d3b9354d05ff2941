"""``ringfence changes | apply | discard``: a person's decision on a ``--overlay`` run's layer."""

from __future__ import annotations

import os
import sys

from ringfence.errors import ExitCode

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse

    from ringfence.workspace.layer import Change, Layer


def layer_of(workspace: str, name: str) -> Layer:
    from ringfence.policy.load import state_dir
    from ringfence.workspace.layer import Layer

    return Layer(state_dir(), workspace, name)


def _workspace(args: argparse.Namespace) -> str:
    from ringfence.cli.common import _abs
    from ringfence.policy import Overrides, load_policy

    overrides = Overrides(workspace=_abs(args.workspace) if args.workspace else None)
    policy = load_policy(policy_file=_abs(args.policy) if args.policy else None, overrides=overrides)
    return policy.sandbox.workspace


def cmd_layer(args: argparse.Namespace) -> int:
    from ringfence.workspace.layer import LayerError, list_layers

    workspace = _workspace(args)
    layer = layer_of(workspace, args.layer)
    if args.cmd == "discard":
        layer.discard()
        print(f"ringfence: layer {layer.name!r} of {layer.workspace} discarded", file=sys.stderr)
        return ExitCode.OK
    if not layer.exists():
        from ringfence.policy.load import state_dir

        others = list_layers(state_dir(), workspace)
        raise LayerError(f"no layer {layer.name!r} for {layer.workspace}",
                         hint=f"its layers: {', '.join(others)} (--layer NAME)" if others
                         else "`ringfence run --overlay -- CMD` makes one")
    if args.cmd == "changes":
        return _changes(layer, args)
    applied, in_place = layer.apply(args.paths, force=args.force)
    for change in applied:
        print(f"{change.kind} {_shown(change)}")
    left = "; the layer is empty and was removed" if not layer.exists() else \
        f"; {len(layer.changes())} change(s) left in the layer"
    print(f"ringfence: applied {len(applied)} change(s) to {layer.workspace}"
          f"{f' ({len(in_place)} already in place)' if in_place else ''}{left}", file=sys.stderr)
    return ExitCode.OK


def _changes(layer: Layer, args: argparse.Namespace) -> int:
    changes = layer.changes()
    if args.json:
        import json

        print(json.dumps({"workspace": layer.workspace, "layer": layer.name,
                          "changes": [c.to_json() for c in changes]}, indent=2))
    elif args.diff:
        sys.stdout.write(layer.diff(changes))
    else:
        for change in changes:
            size = f"{change.size:>10,}" if change.size is not None else " " * 10
            note = f"  ({change.detail})" if change.detail and change.kind == "M" else ""
            print(f"{change.kind} {size}  {_shown(change)}{note}")
        if not changes:
            print(f"ringfence: layer {layer.name!r} holds no changes", file=sys.stderr)
    return ExitCode.FINDINGS if changes else ExitCode.OK


def _shown(change: Change) -> str:
    name = change.path + ("/" if change.type == "dir" else "")
    if change.type == "link" and change.detail:
        name += f" -> {change.detail}"
    return f"{change.old} -> {name}" if change.kind == "R" else name
