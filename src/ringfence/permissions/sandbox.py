"""What the permission rules mean for ``ringfence run``'s boundary (issue 4 §3).

Where a rule maps onto the sandbox, the sandbox enforces it too, so it holds even for a
process the agent starts that no hook ever sees:

- ``WebFetch(domain:HOST)`` in ``allow`` joins ``[network] allow``, in ``deny`` joins
  ``[network] deny`` (``domain:*`` never widens the allowlist: it would allow everything);
- ``Read(PATH)`` in ``deny`` joins ``[filesystem] deny_read`` when PATH names one place:
  ``//abs``, ``~/p`` or a path relative to the policy file (``/p``) or the working folder
  (``./p``), optionally ending in ``/**`` (the folder). Patterns with other wildcards, or bare
  names that match at any depth (``.env``), stay with the engine: a mount can hide a path,
  not a pattern.
- ``Edit(PATH)`` in ``deny`` joins ``[filesystem] deny_write`` under the same conditions.
"""

from __future__ import annotations

import os

from ringfence._struct import record
from ringfence.policy.model import Policy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time


@record
class SandboxRules:
    allow_domains: tuple[str, ...] = ()
    deny_domains: tuple[str, ...] = ()
    deny_read: tuple[str, ...] = ()
    deny_write: tuple[str, ...] = ()


def sandbox_rules(policy: Policy, *, cwd: str, home: str) -> SandboxRules:
    """The parts of ``policy``'s ``[permissions]`` that the boundary can enforce."""
    from ringfence.permissions.rules import DOMAIN, PATH, parse_rule

    allow: list[str] = []
    deny: list[str] = []
    deny_read: list[str] = []
    deny_write: list[str] = []
    for entry in policy.permissions.entries:
        rule = parse_rule(entry.rule, entry.kind, base=entry.base, key=entry.key)
        if rule.form == DOMAIN and rule.tool == "WebFetch":
            host = rule.spec.partition(":")[2]
            if host != "*":
                (allow if rule.kind == "allow" else deny if rule.kind == "deny" else []).append(host)
        elif rule.form == PATH and rule.kind == "deny" and rule.tool in ("Read", "Edit"):
            path = _one_place(rule.spec, base=entry.base, cwd=cwd, home=home)
            if path is not None:
                (deny_read if rule.tool == "Read" else deny_write).append(path)
    return SandboxRules(tuple(allow), tuple(deny), tuple(deny_read), tuple(deny_write))


def _one_place(spec: str, *, base: str, cwd: str, home: str) -> str | None:
    """The one path a Read/Edit spec names, or None when it is a pattern."""
    body = spec[:-3] if spec.endswith("/**") else spec
    if not body or any(c in body for c in "*?[]!\\"):
        return None
    if body.startswith("//"):
        path = body[1:]
    elif body == "~" or body.startswith("~/"):
        path = os.path.join(home, body[2:])
    elif body.startswith("/"):
        path = os.path.join(base or cwd, body[1:])
    elif body.startswith("./"):
        path = os.path.join(cwd, body[2:])
    else:
        return None  # a bare name matches at any depth: the engine's job
    return os.path.normpath(path)


def apply(policy: Policy, rules: SandboxRules) -> Policy:
    """``policy`` with the boundary's share of the permission rules added."""
    from ringfence._struct import replace

    if rules == SandboxRules():
        return policy
    network = replace(policy.network, allow=tuple(dict.fromkeys(policy.network.allow + rules.allow_domains))
                      if policy.network.enabled else policy.network.allow,
                      deny=tuple(dict.fromkeys(policy.network.deny + rules.deny_domains)))
    filesystem = replace(policy.filesystem,
                         deny_read=tuple(dict.fromkeys(policy.filesystem.deny_read + rules.deny_read)),
                         deny_write=tuple(dict.fromkeys(policy.filesystem.deny_write + rules.deny_write)))
    return replace(policy, network=network, filesystem=filesystem)
