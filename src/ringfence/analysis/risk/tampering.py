"""Security tampering: switching off the protections around the agent.

Firewalls, SELinux and AppArmor, audit logging, ringfence's own policy and Claude Code's
permission settings, the sandbox, security agents, the egress proxy, file times, commit
signing and shell history are what let a person see and limit what an agent does.
Changing ringfence's or Claude Code's settings from a bash command, killing ringfence, the
sandbox or a security agent, and faking the time of a system file are denied (an agent
must not widen its own permissions or hide its tracks); the rest is asked.

- RF-TAMP-001 (HIGH): firewalls off or flushed (``ufw disable``, ``iptables -F``,
  ``nft flush ruleset``, stopping firewalld, ``pfctl -d``).
- RF-TAMP-002 (HIGH): SELinux, AppArmor, SIP or Gatekeeper off (``setenforce 0``,
  ``aa-teardown``, ``systemctl stop apparmor``, ``csrutil disable``, ``spctl --master-disable``).
- RF-TAMP-003 (HIGH): audit and system logs off or erased (``auditctl -e 0``, stopping
  auditd or journald, ``journalctl --vacuum-*``, deleting or emptying ``/var/log``).
- RF-TAMP-004 (CRITICAL): writing or deleting ringfence's policy (``ringfence.toml``,
  ``.ringfence/``, ``~/.config/ringfence``, ``/etc/ringfence``) or Claude Code's settings
  and hooks (``.claude/settings*.json``, ``.claude/hooks``, ``~/.claude/settings.json``,
  ``managed-settings.json``), from the shell or from code handed to an interpreter
  (``python3 -c "...json.dump(d, open('.claude/settings.json', 'w'))"``).
- RF-TAMP-005 (HIGH): wiping or disabling shell history (``history -c``, ``unset
  HISTFILE``, ``HISTFILE=/dev/null``, ``set +o history``, removing ``~/.bash_history``).
- RF-TAMP-006 (HIGH): library injection or shell start-up hooks through the environment
  (``LD_PRELOAD``, ``LD_AUDIT``, ``DYLD_INSERT_LIBRARIES``, ``BASH_ENV``, ``PROMPT_COMMAND``).
- RF-TAMP-007 (HIGH): going around the egress proxy (unsetting or emptying
  ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, ``NO_PROXY=*``, ``curl --noproxy '*'``).
- RF-TAMP-008 (MEDIUM): turning TLS verification off for good (``git config http.sslVerify
  false``, ``npm config set strict-ssl false``, ``NODE_TLS_REJECT_UNAUTHORIZED=0``).
- RF-TAMP-009 (CRITICAL): killing or stopping ringfence, the sandbox (``bwrap``,
  ``firejail``...) or a security agent (auditd, falco, osquery, wazuh, CrowdStrike, ClamAV,
  Defender...): ``pkill -f ringfence``, ``kill $(pgrep bwrap)``, ``pgrep falco | xargs
  kill``, ``systemctl stop``/``disable``/``mask``, ``launchctl bootout``.
- RF-TAMP-010 (CRITICAL): giving a system file or a dotfile in home a chosen time
  (``touch -r /bin/ls /usr/local/bin/x``, ``touch -d 2019-01-01 ~/.bashrc``): timestomping,
  which hides a change. RF-TAMP-011 (HIGH): the same for another path outside the
  workspace (absolute or in home, not /tmp); ``touch -d`` of a project file stays quiet.
- RF-TAMP-012 (MEDIUM): commit or tag signing, or signature checks, off in the global or
  system git config (``git config --global commit.gpgsign false``, ``--unset``,
  ``gpg.program true``); a repository's own ``git config`` stays quiet.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import inline_code, normal, split_options, system_path, written_paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_FIREWALL_SERVICES = frozenset({"firewalld", "ufw", "nftables", "iptables", "ip6tables", "netfilter-persistent"})
_MAC_SERVICES = frozenset(
    {"apparmor", "selinux", "auditd", "rsyslog", "syslog", "systemd-journald", "falco", "osqueryd"}
)
_STOPPING = frozenset({"stop", "disable", "mask", "kill"})


def _stops(command: SimpleCommand, services: frozenset[str]) -> str | None:
    argv = command.argv
    if command.name == "systemctl" and set(argv[1:]) & _STOPPING:
        hit = [a.removesuffix(".service") for a in argv[1:] if a.removesuffix(".service") in services]
        return hit[0] if hit else None
    if command.name == "service" and len(argv) >= 3 and argv[1] in services and argv[2] == "stop":
        return argv[1]
    return None


@rule("RF-TAMP-001", Severity.HIGH, "Turns a firewall off or flushes its rules.")
def firewall(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    words = set(argv[1:])
    if name == "ufw" and words & {"disable", "reset"}:
        return "`ufw` turns the firewall off."
    if name in ("iptables", "ip6tables", "iptables-legacy", "iptables-nft") and (
        words & {"-F", "--flush", "-X", "--delete-chain"} or ("-P" in words and "ACCEPT" in words)
    ):
        return f"`{name}` flushes or opens the firewall rules."
    if name == "nft" and "flush" in words:
        return "`nft flush` removes the firewall rules."
    if name == "pfctl" and "-d" in words:
        return "`pfctl -d` turns the macOS firewall off."
    if name == "socketfilterfw" and "off" in words:
        return "It turns the macOS application firewall off."
    service = _stops(command, _FIREWALL_SERVICES)
    if service:
        return f"It stops the {service} firewall."
    return None


@rule("RF-TAMP-002", Severity.HIGH, "Turns SELinux, AppArmor, SIP or Gatekeeper off.")
def mandatory_access(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "setenforce" and argv[1:2] in (("0",), ("Permissive",), ("permissive",)):
        return "`setenforce 0` switches SELinux to permissive."
    if name in ("aa-teardown", "aa-disable", "aa-complain") or (name == "apparmor_parser" and "-R" in argv):
        return f"`{name}` unloads or relaxes AppArmor profiles."
    if name == "csrutil" and "disable" in argv:
        return "`csrutil disable` turns System Integrity Protection off."
    if name == "spctl" and set(argv[1:]) & {"--master-disable", "--global-disable"}:
        return "`spctl` turns Gatekeeper off."
    if "/etc/selinux/config" in written_paths(command):
        return "It rewrites the SELinux configuration."
    service = _stops(command, frozenset({"apparmor", "selinux"}))
    if service:
        return f"It stops {service}."
    return None


@rule("RF-TAMP-003", Severity.HIGH, "Turns audit or system logging off, or erases logs.")
def logs(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "auditctl" and ("-D" in argv or argv[1:3] == ("-e", "0")):
        return "`auditctl` turns audit logging off or deletes its rules."
    if name == "journalctl" and any(a.startswith(("--vacuum", "--rotate")) for a in argv):
        return "`journalctl` erases system logs."
    service = _stops(command, _MAC_SERVICES - {"apparmor", "selinux"})
    if service:
        return f"It stops {service}, which records what happens on the machine."
    if name in ("rm", "shred", "truncate", "unlink") and any(normal(a).startswith("/var/log") for a in argv[1:]):
        return f"`{name}` erases system logs."
    if any(p.startswith("/var/log/") for p in written_paths(command)) and (not argv or name in (":", "true", "echo")):
        return "It empties a system log."
    return None


_POLICY = lazy(
    r"(?:^|/)(?:ringfence\.toml|\.ringfence(?:/|$)|\.config/ringfence(?:/|$))|^/etc/ringfence(?:/|$)"
    r"|(?:^|/)\.claude/(?:settings(?:\.local)?\.json|hooks(?:/|$))|(?:^|/)managed-settings(?:\.d/[^/]+)?\.json$"
    r"|^/etc/claude-code(?:/|$)|(?:^|/)\.mcp\.json$"
)
_REMOVERS = frozenset({"rm", "unlink", "shred", "mv", "truncate"})
# The same files named inside program text (``open('.claude/settings.json', 'w')``).
_POLICY_IN_CODE = lazy(
    r"ringfence\.toml|(?:^|[/'\"\s])\.ringfence\b|\.config/ringfence|/etc/ringfence"
    r"|\.claude/(?:settings(?:\.local)?\.json|hooks)|managed-settings|/etc/claude-code|\.mcp\.json"
)
_POLICY_WORDS = ("ringfence", ".claude", "claude-code", "managed-settings", ".mcp.json")
# Program text that writes, moves or deletes a file.
_CODE_WRITES = lazy(
    r"\bopen\s*\([^)]*,\s*(?:mode\s*=\s*)?['\"][^'\"]*[wax+]|\bopen\s*\(?\s*(?:my\s+)?\$?\w+\s*,\s*['\"]\s*\+?[>|]"
    r"|(?<!stdout)(?<!stderr)\.write(?:_text|_bytes)?\s*\(|\bjson\.dump\s*\(|\b(?:write|append)File(?:Sync)?\b"
    r"|\bcreateWriteStream\b|\b(?:unlink|rm|rename)(?:Sync)?\s*\(|\bos\.(?:remove|replace|rename)\b"
    r"|\bshutil\.(?:move|rmtree)\b|(?:\bshutil\.copy\w*|\bcopyFile(?:Sync)?|\bcp(?:Sync)?)\s*\([^,()]*,[^)]*"
    r"(?:ringfence|\.claude|managed-settings|claude-code|\.mcp\.json)"  # a copy onto the settings, not from them
    r"|\.unlink\s*\(|\bFile\.(?:write|delete|open\s*\([^)]*['\"][wa])|\bfile_put_contents\b|\bunlink\b"
    r"|\btruncate\b|\bIO\.write\b"
)


@rule("RF-TAMP-004", Severity.CRITICAL, "Writes or deletes ringfence's policy or Claude Code's permission settings.")
def own_settings(command: SimpleCommand) -> str | None:
    targets = list(written_paths(command))
    if command.name in _REMOVERS:
        targets += [normal(a) for a in split_options(command.argv)[1]]
    if any(_POLICY.search(t) for t in targets) or _code_writes_policy(command):
        return (
            "It changes ringfence's policy or Claude Code's permission settings: an agent may not widen its own limits."
        )
    return None


def _code_writes_policy(command: SimpleCommand) -> bool:
    """``python3 -c "...json.dump(d, open('.claude/settings.json', 'w'))"``: code that names
    the settings and writes, moves or deletes a file."""
    code = inline_code(command)
    if not code or not any(word in code for word in _POLICY_WORDS):
        return False
    return bool(_POLICY_IN_CODE.search(code) and _CODE_WRITES.search(code))


_HISTORY = lazy(r"(?:^|/)\.(?:bash|zsh|sh|python|psql|mysql|node_repl)_history$|(?:^|/)\.zhistory$")


@rule("RF-TAMP-005", Severity.HIGH, "Wipes or disables shell history.")
def history(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "history" and set(argv[1:]) & {"-c", "-w", "-d"}:
        return "`history` clears the shell's command history."
    if name == "unset" and {"HISTFILE", "HISTSIZE", "HISTFILESIZE"} & set(argv[1:]):
        return "`unset HISTFILE` stops the shell recording history."
    if name == "set" and "+o" in argv and "history" in argv:
        return "`set +o history` stops the shell recording history."
    pairs = _assigned(command)
    if pairs.get("HISTFILE", "x").strip("'\"") in ("", "/dev/null") or pairs.get("HISTSIZE", "x").strip("'\"") == "0":
        return "It points shell history at nothing."
    removed = [normal(a) for a in split_options(argv)[1]] if name in _REMOVERS or name == "ln" else []
    if any(_HISTORY.search(p) for p in removed + written_paths(command)):
        return "It deletes or overwrites shell history."
    return None


_INJECTION = frozenset(
    {"LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "BASH_ENV", "ENV", "PROMPT_COMMAND"}
)


def _assigned(command: SimpleCommand) -> dict[str, str]:
    """The variables ``command`` sets, as a prefix or through ``export``/``declare``...
    (computed once per command: several rules ask; no caller changes it)."""
    cache = command.__dict__
    pairs: dict[str, str] | None = cache.get("_rf_assigned")
    if pairs is None:
        pairs = dict(command.assignments)
        if command.name in _DECLARERS:
            pairs.update(a.partition("=")[::2] for a in command.argv[1:] if "=" in a)
        cache["_rf_assigned"] = pairs
    return pairs


_DECLARERS = frozenset({"export", "declare", "typeset", "local", "readonly"})


@rule("RF-TAMP-006", Severity.HIGH, "Injects a library or start-up code through the environment (LD_PRELOAD...).")
def injection(command: SimpleCommand) -> str | None:
    hit = sorted((set(_assigned(command)) & _INJECTION) - {"LD_LIBRARY_PATH"})
    if hit:
        return f"It sets {hit[0]}, which makes programs load or run extra code."
    return None


_PROXIES = frozenset({"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"})
_PROXY_TOOLS = frozenset({"unset", "env", "curl", "wget"})


@rule("RF-TAMP-007", Severity.HIGH, "Goes around the egress proxy (unsets HTTPS_PROXY, NO_PROXY=*, --noproxy).")
def proxy_bypass(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    pairs = _assigned(command)
    if not pairs and not command.prefix and name not in _PROXY_TOOLS:
        return None  # the common case, quickly
    if any(pairs.get(k, "x").strip("'\"") == "" for k in _PROXIES) or pairs.get(
        "NO_PROXY", pairs.get("no_proxy", "")
    ).strip("'\"") in ("*", ".*"):
        return "It switches the egress proxy off for what follows."
    if name == "unset" and set(argv[1:]) & _PROXIES:
        return "`unset` removes the egress proxy setting."
    unset = [w for i, w in enumerate(command.prefix) if i and command.prefix[i - 1] in ("-u", "--unset")]
    if set(unset) & _PROXIES or (name == "env" and "-u" in argv and set(argv) & _PROXIES):
        return "`env -u` runs a command without the egress proxy."
    if name in ("curl", "wget") and (
        any(a in ("--noproxy", "--no-proxy") for a in argv) or any(a.startswith("--noproxy=") for a in argv)
    ):
        return f"`{name}` goes around the egress proxy."
    if name == "curl" and ("--proxy" in argv or "-x" in argv):
        value = argv[(argv.index("--proxy") if "--proxy" in argv else argv.index("-x")) + 1 :][:1]
        if value in ((), ("",)):
            return "`curl` switches the egress proxy off."
    return None


_TLS_OFF = (
    lazy(r"^git config (--global |--system )?http\.sslverify (false|0|no)$", re.IGNORECASE),
    lazy(r"^(npm|yarn|pnpm) config set strict-ssl false$"),
    lazy(r"^pip config set \S+\.trusted-host "),
)

_TLS_TOOLS = frozenset({"git", "npm", "yarn", "pnpm", "pip"})


@rule("RF-TAMP-008", Severity.MEDIUM, "Turns TLS certificate checks off for good.")
def tls_off(command: SimpleCommand) -> str | None:
    pairs = _assigned(command)
    if pairs.get("NODE_TLS_REJECT_UNAUTHORIZED", "1").strip("'\"") == "0" or pairs.get("GIT_SSL_NO_VERIFY", "") in (
        "1",
        "true",
    ):
        return "It turns TLS certificate checks off."
    if command.name.lower() in _TLS_TOOLS and any(p.match(command.text) for p in _TLS_OFF):
        return "It turns TLS certificate checks off in a saved configuration."
    return None


# ringfence itself, the sandbox it runs commands in, and the agents that watch the machine
# (EDR, antivirus, audit, intrusion detection): as a process name, a service or a pattern.
_GUARDS = lazy(
    r"(?<![\w-])(?:ringfence|bwrap|bubblewrap|firejail|nsjail|sandbox-exec|auditd|auditbeat|falco|osqueryd?"
    r"|wazuh[\w-]*|ossec[\w-]*|falcon-sensor|falcond|falconctl|crowdstrike|sentinel(?:one|d|ctl|-agent)"
    r"|clamd|clamav[\w-]*|freshclam|elastic-agent|elastic-endpoint|tetragon|tracee|mdatp|wdavdaemon|santad"
    r"|sysmon|aide|rkhunter|fail2ban[\w-]*|cbagent|cbdaemon|cylance\w*|xagt|qualys[\w-]*|ds_agent"
    r"|taniumclient|sophos\w*|velociraptor)(?![\w])",
    re.IGNORECASE,
)
_KILLERS = frozenset({"kill", "pkill", "killall", "skill", "xkill"})
_SERVICE_STOP = frozenset({"stop", "disable", "mask", "kill", "unload", "bootout", "remove"})


@parsed_rule("RF-TAMP-009", Severity.CRITICAL, "Kills or stops ringfence, the sandbox or a security agent.")
def kill_guards(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    commands = parsed.commands
    for index, command in enumerate(commands):
        name, argv = command.name, command.argv
        if name in _KILLERS:
            if name == "kill" and (argv[1:2] == ("-0",) or argv[1:3] == ("-s", "0")):
                continue  # kill -0: is it alive?
            words = list(argv[1:])
            if "xargs" in command.wrappers and command.pipeline >= 0:  # pgrep ringfence | xargs kill
                words += [
                    a for c in commands if c.pipeline == command.pipeline and c.stage < command.stage for a in c.argv
                ]
            guard = next((m.group(0) for w in words for m in [_GUARDS.search(w)] if m), None)
            if guard:
                yield index, f"`{name}` kills {_guard_name(guard)}, which watches or limits what runs here."
        elif name in ("systemctl", "service", "launchctl", "rc-service", "sv") and set(argv[1:]) & _SERVICE_STOP:
            services = [a for a in argv[1:] if not a.startswith("-") and a not in _SERVICE_STOP]
            guard = next((m.group(0) for w in services for m in [_GUARDS.search(w)] if m), None)
            if guard:
                yield index, f"`{name}` stops {_guard_name(guard)}, which watches or limits what runs here."


def _guard_name(found: str) -> str:
    lowered = found.lower()
    if lowered == "ringfence":
        return "ringfence"
    if lowered in ("bwrap", "bubblewrap", "firejail", "nsjail", "sandbox-exec"):
        return "the sandbox"
    return f"the security agent {lowered}"


_TEMP = ("/tmp/", "/var/tmp/", "/private/tmp/", "/dev/shm/", "/private/var/folders/")


def _stamped(command: SimpleCommand) -> list[str]:
    """Files ``touch`` gives a chosen time (-r/--reference, -d/--date, -t), normalised."""
    if command.name != "touch":
        return []
    options, operands = split_options(
        command.argv, valued="rdtA", long_valued=frozenset({"--date", "--reference", "--time"})
    )
    if not options & {"r", "d", "t", "A", "--date", "--reference"}:
        return []
    return [normal(o) for o in operands if not (normal(o) + "/").startswith(_TEMP)]


@rule(
    "RF-TAMP-010",
    Severity.CRITICAL,
    "Forges the time of a system file or a dotfile in home (touch -r/-d/-t): hides a change.",
    names=("touch",),
)
def timestomp(command: SimpleCommand) -> str | None:
    for path in _stamped(command):
        if system_path(path) or path.startswith("~/."):
            return "`touch` gives a system or start-up file a false time, which hides when it was changed."
    return None


@rule(
    "RF-TAMP-011",
    Severity.HIGH,
    "Forges the time of a file outside the workspace (touch -r/-d/-t of an absolute or home path).",
    names=("touch",),
)
def timestomp_elsewhere(command: SimpleCommand) -> str | None:
    for path in _stamped(command):
        if path.startswith(("/", "~")) and not (system_path(path) or path.startswith("~/.")):
            return "`touch` gives a file outside the workspace a false time, which hides when it was changed."
    return None


_SIGNING = frozenset(
    {
        "commit.gpgsign",
        "tag.gpgsign",
        "push.gpgsign",
        "tag.forcesignannotated",
        "merge.verifysignatures",
        "pull.verifysignatures",
        "rebase.verifysignatures",
    }
)
_SIGNING_PROGRAMS = frozenset({"gpg.program", "gpg.openpgp.program", "gpg.ssh.program", "gpg.x509.program"})
_NO_OPS = frozenset({"true", "/bin/true", "/usr/bin/true", ":", "cat", "echo", "/bin/cat", "/bin/echo"})
_FALSE = frozenset({"false", "0", "no", "off"})
_GLOBAL_FILES = frozenset({"~/.gitconfig", "~/.config/git/config", "/etc/gitconfig"})


@rule(
    "RF-TAMP-012",
    Severity.MEDIUM,
    "Turns commit or tag signing, or signature checks, off in the global or system git config.",
    names=("git",),
)
def signing_off(command: SimpleCommand) -> str | None:
    argv = command.argv
    if command.name != "git" or "config" not in argv:
        return None
    words = argv[argv.index("config") :]
    options, operands = split_options(
        words, valued="f", long_valued=frozenset({"--file", "--blob", "--type", "--default", "--comment"})
    )
    config_file = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-f", "--file")), "")
    if not (options & {"--global", "--system"} or normal(config_file) in _GLOBAL_FILES):
        return None
    unset = bool(options & {"--unset", "--unset-all"})
    if operands[:1] in (["set"], ["unset"]):
        unset = operands[0] == "unset"
        operands = operands[1:]
    if not operands:
        return None
    key = operands[0].lower()
    value = operands[1].lower() if len(operands) > 1 else ""
    if key in _SIGNING and (unset or value in _FALSE):
        return f"`git config` turns {key} off for every repository: unsigned or unchecked commits pass unnoticed."
    if key in _SIGNING_PROGRAMS and value in _NO_OPS:
        return "`git config` replaces the signing program with one that signs nothing."
    return None
