"""Sandbox backends: pure planners from a ``Policy`` to a plan, and thin runners."""

from ringfence.sandbox.plan import Mount, MountKind, Placeholder, SandboxPlan

__all__ = ["Mount", "MountKind", "Placeholder", "SandboxPlan"]
