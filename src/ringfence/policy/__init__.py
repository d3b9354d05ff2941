"""The policy: one typed model that every enforcement point compiles from."""

from ringfence.policy.hosts import HostRule, HostRuleError, HostRules, Verdict, normalize_host, parse_host_rule
from ringfence.policy.load import Overrides, home_of_invoker, load_policy, parse_size, resolve_path
from ringfence.policy.model import (
    BUILTIN_DENY_READ_HOME,
    PROTECTED_DIRS,
    PROTECTED_NAMES,
    AuditPolicy,
    Credential,
    FilesystemPolicy,
    Gateway,
    NetworkPolicy,
    PermissionEntry,
    PermissionsPolicy,
    Policy,
    RequestRule,
    SandboxPolicy,
    UnixSockets,
)

__all__ = [
    "BUILTIN_DENY_READ_HOME",
    "PROTECTED_DIRS",
    "PROTECTED_NAMES",
    "AuditPolicy",
    "Credential",
    "FilesystemPolicy",
    "Gateway",
    "HostRule",
    "HostRuleError",
    "HostRules",
    "NetworkPolicy",
    "Overrides",
    "PermissionEntry",
    "PermissionsPolicy",
    "Policy",
    "RequestRule",
    "SandboxPolicy",
    "UnixSockets",
    "Verdict",
    "home_of_invoker",
    "load_policy",
    "normalize_host",
    "parse_host_rule",
    "parse_size",
    "resolve_path",
]
