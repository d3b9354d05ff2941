"""Privilege escalation: running as root, or making something run as root later.

An agent works as your user, inside the workspace. Anything that becomes root (``sudo``,
``su``, ``doas``, ``pkexec``), or leaves a way to become root behind (a setuid binary, a
file capability, a root-owned binary, membership of ``sudo``/``wheel``/``docker``, a
sudoers rule, a privileged container) is asked about, because a mistake as root reaches
the whole machine.

- RF-PRIV-001 (HIGH): a command run through sudo, doas, pkexec, runuser or su -c.
- RF-PRIV-002 (HIGH): a root shell or a switch of user (``su``, ``sudo -i``, ``sudo -s``,
  ``sudo su``, ``doas -s``, ``sudoedit``, ``sudo -e``, ``sudo -v`` keeping credentials warm).
- RF-PRIV-003 (HIGH): ``chmod`` or ``install -m`` setting the setuid or setgid bit.
- RF-PRIV-004 (HIGH): ``setcap`` giving a file capabilities.
- RF-PRIV-005 (MEDIUM): ``chown``/``chgrp`` to root.
- RF-PRIV-006 (HIGH): sudoers edits, adding a user to an admin group (sudo, wheel, admin,
  root, docker, lxd, libvirt, disk), ``passwd``/``chpasswd`` for root.
- RF-PRIV-007 (HIGH): a container with the host's powers (``--privileged``, the host's
  root filesystem or docker socket mounted, ``--pid=host``, added capabilities).
- RF-PRIV-007 also covers the host's system folders (``/etc``, ``/root``, ``/proc``, ``/var/run``...)
  mounted into a container: root inside it changes them.
- RF-PRIV-009 (HIGH): namespaces with root's powers: ``nsenter``, ``unshare -r``, ``systemd-run``,
  ``newgrp``/``sg`` (a new group's rights), ``kubectl`` pods with ``privileged``/``hostPID``/
  ``hostNetwork``/``hostPath`` or ``kubectl debug node/...``.
- RF-PRIV-010 (MEDIUM): a survey for ways up: ``find -perm -4000`` (setuid programs),
  ``getcap -r``, ``sudo -l`` (RF-PRIV-008, a note before, is retired: the corpus of real
  attacks shows it as the first step of one).
"""

from __future__ import annotations

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, rule
from ringfence.analysis.risk._words import PRIVILEGED_WRAPPERS, normal, option_value, safe, split_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ringfence.analysis.bash import SimpleCommand

_ADMIN_GROUPS = frozenset({"sudo", "wheel", "admin", "root", "docker", "lxd", "libvirt", "disk", "adm", "shadow"})
_SUID_SYMBOLIC = lazy(r"^[ugoa]*[+=][rwxXt]*s")
_SUID_OCTAL = lazy(r"^0?[2-7][0-7]{3}$")


@rule("RF-PRIV-001", Severity.HIGH, "Runs a command as root (or another user) through sudo, doas, pkexec or su.")
def run_as_root(command: SimpleCommand) -> str | None:
    via = [w for w in command.wrappers if w in PRIVILEGED_WRAPPERS]
    if not via or not command.argv:
        return None
    return f"`{command.name}` would run as root (through {via[0]})."


@rule("RF-PRIV-002", Severity.HIGH, "Opens a root shell, switches user, or keeps sudo credentials warm.")
def root_shell(command: SimpleCommand) -> str | None:
    name = command.name
    argv = command.argv
    if name in ("su", "sudoedit", "machinectl", "run0") and (name != "machinectl" or "shell" in argv):
        return f"`{name}` switches to another user (root unless told otherwise)."
    if name == "pkexec" and len(argv) == 1:
        return "`pkexec` with no command opens a root shell."
    if name in ("sudo", "doas"):
        options, _ = split_options(argv, valued="ugCDhprtTUR")
        if options & {"i", "s", "--login", "--shell"}:
            return f"`{name}` opens a root shell."
        if options & {"e", "--edit"}:
            return f"`{name} -e` edits files as root."
        if options & {"v", "--validate"}:
            return f"`{name} -v` refreshes cached credentials so later commands can become root without a password."
    return None


@rule(
    "RF-PRIV-003",
    Severity.HIGH,
    "Sets the setuid or setgid bit, so a file runs with its owner's privileges.",
    names=("chmod", "install"),
)
def setuid(command: SimpleCommand) -> str | None:
    name = command.name
    if name == "chmod":
        modes = [a for a in command.argv[1:] if not a.startswith("-") or _SUID_SYMBOLIC.match(a[1:])]
        if modes and any(_setuid_mode(part) for part in modes[0].split(",")):
            return "`chmod` sets the setuid/setgid bit: the file would run with its owner's (often root's) privileges."
    if name == "install":
        mode = option_value(command.argv, "-m", "--mode")
        if mode is not None and any(_setuid_mode(part) for part in mode.split(",")):
            return "`install` creates a setuid/setgid file: it would run with its owner's privileges."
    return None


def _setuid_mode(mode: str) -> bool:
    if _SUID_OCTAL.match(mode):
        return int(mode, 8) & 0o6000 != 0
    return bool(_SUID_SYMBOLIC.match(mode))


@rule(
    "RF-PRIV-004", Severity.HIGH, "Gives a file Linux capabilities (setcap), a quiet form of root.", names=("setcap",)
)
def capabilities(command: SimpleCommand) -> str | None:
    if command.name != "setcap":
        return None
    if "-r" in command.argv[1:]:
        return None  # removes capabilities
    return "`setcap` gives a program capabilities, part of root's powers, for whoever runs it."


@rule("RF-PRIV-005", Severity.MEDIUM, "Makes root the owner of files (chown/chgrp root).", names=("chown", "chgrp"))
def chown_root(command: SimpleCommand) -> str | None:
    if command.name not in ("chown", "chgrp"):
        return None
    _, operands = split_options(command.argv, long_valued=frozenset({"--reference", "--from"}))
    if not operands:
        return None
    owner = operands[0]
    if command.name == "chgrp":
        user, group = "", owner
    else:
        user, sep, group = owner.partition(":")
        if not sep:
            user, _, group = owner.partition(".")
    if user in ("root", "0") or group in ("root", "0", "wheel"):
        return f"`{command.name}` makes root the owner, so only root could change the file again."
    return None


@rule("RF-PRIV-006", Severity.HIGH, "Edits sudoers, adds a user to an admin group, or changes root's password.")
def admin_rights(command: SimpleCommand) -> str | None:
    name = command.name
    argv = command.argv
    if name == "visudo":
        return "`visudo` edits who may become root."
    for redirect in command.redirects:
        if redirect.writes and redirect.target and normal(redirect.target).startswith("/etc/sudoers"):
            return "It writes to the sudoers rules, which decide who may become root."
    if name in ("tee", "cp", "mv", "install", "ln") and any(normal(a).startswith("/etc/sudoers") for a in argv[1:]):
        return "It writes to the sudoers rules, which decide who may become root."
    if name in ("usermod", "gpasswd", "adduser", "addgroup", "useradd", "dseditgroup"):
        groups = _named_groups(argv)
        if groups & _ADMIN_GROUPS:
            group = min(groups & _ADMIN_GROUPS)
            return f"`{name}` adds a user to the `{group}` group, which can become root."
    if name in ("passwd", "chpasswd") and (name == "chpasswd" or "root" in argv[1:]):
        return f"`{name}` changes account passwords (root's included)."
    return None


def _named_groups(argv: tuple[str, ...]) -> set[str]:
    groups: set[str] = set()
    for i, arg in enumerate(argv[1:], start=1):
        if arg in ("-G", "-aG", "-Ga", "--groups", "-g", "--gid", "-a", "--append") and i + 1 < len(argv):
            groups.update(argv[i + 1].split(","))
        elif arg.startswith("--groups="):
            groups.update(arg.partition("=")[2].split(","))
    name = argv[0].rpartition("/")[2]
    if name in ("adduser", "addgroup") and len(argv) == 3 or name == "gpasswd":
        groups.add(argv[-1])  # adduser USER GROUP, gpasswd -a USER GROUP
    return groups


_PRIVILEGED_CONTAINER = lazy(
    r"^--privileged(=true)?$|^--(pid|ipc|userns|uts|cgroupns)=host$|^--cap-add(=|$)"
    r"|^--security-opt=.*(unconfined|disable)"
)


@rule(
    "RF-PRIV-007", Severity.HIGH, "Starts a container with the host's powers (privileged, host root or docker socket)."
)
def privileged_container(command: SimpleCommand) -> str | None:
    argv = command.argv
    if command.name not in ("docker", "podman", "nerdctl") or not ({"run", "create", "exec"} & set(argv[1:3])):
        return None
    for i, arg in enumerate(argv):
        if _PRIVILEGED_CONTAINER.match(arg):
            return f"`{command.name}` starts a container with the host's privileges ({arg.partition('=')[0]})."
        mount = arg.partition("=")[2] if arg.startswith(("--volume=", "--mount=")) else ""
        if arg in ("-v", "--volume", "--mount") and i + 1 < len(argv):
            mount = argv[i + 1]
        if "=" in mount:  # --mount type=bind,source=/x,target=/y
            fields = dict(f.partition("=")[::2] for f in mount.split(","))
            source = fields.get("source") or fields.get("src") or ""
        else:  # -v /x:/y[:ro]
            source = mount.split(":")[0]
        if source and (normal(source) == "/" or "docker.sock" in source):
            return f"`{command.name}` gives a container the host's root filesystem or docker socket."
        if source and (_HOST_SYSTEM.match(source) or _HOST_SYSTEM.match(normal(source))):
            return f"`{command.name}` mounts the host's {safe(source, 'system folders')} into a container, whose root can change them."
    return None


_HOST_SYSTEM = lazy(r"^/(?:etc|root|boot|proc|sys|dev|usr|bin|sbin|lib|lib64|var/run|run|var/lib/docker)(?:/|$)")
_HOST_NAMESPACES = lazy(r'"(?:privileged|hostPID|hostNetwork|hostIPC)"\s*:\s*true|"hostPath"\s*:')
_SUID_SEARCH = frozenset({"-4000", "/4000", "-2000", "/2000", "-6000", "/6000", "-u=s", "/u=s", "-g=s", "/g=s"})


@rule("RF-PRIV-009", Severity.HIGH, "Enters or builds namespaces with root's powers (nsenter, unshare -r, systemd-run, newgrp).")
def namespaces(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if "nsenter" in command.wrappers or name == "nsenter":
        return "`nsenter` enters another process's namespaces, such as the host's from inside a container."
    if ("unshare" in command.wrappers and {"-r", "--map-root-user", "-c", "--map-current-user"} & set(command.prefix)) or (
        name == "unshare" and {"-r", "--map-root-user"} & set(argv)
    ):
        return "`unshare -r` makes this user root in a new namespace, the first step of many escapes."
    if name == "systemd-run":
        return "`systemd-run` starts a command as a system service, outside this session (and as root with --uid=0)."
    if name == "newgrp" or name == "sg":
        group = argv[1] if len(argv) > 1 else "a group"
        return f"`{name}` switches to the group {safe(group, 'a group')}, whose rights (docker: root) then apply."
    if name == "kubectl" and set(argv[1:3]) & {"run", "debug", "create", "apply"} and any(
        _HOST_NAMESPACES.search(a) for a in argv if "{" in a
    ) or name == "kubectl" and "debug" in argv[1:2] and any(a.startswith("node/") for a in argv):
        return "`kubectl` starts a pod with the node's privileges (privileged, host PID or network, host paths)."
    return None


@rule("RF-PRIV-010", Severity.MEDIUM, "Looks for ways to become root: setuid binaries, capabilities, sudo rights.")
def escalation_survey(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "find" and "-perm" in argv:
        i = argv.index("-perm")
        if i + 1 < len(argv) and argv[i + 1] in _SUID_SEARCH:
            return "`find -perm` searches for setuid or setgid programs, a way to become root."
    if name == "getcap" and "-r" in argv:
        return "`getcap -r` searches for programs with file capabilities, a way to gain privileges."
    if name == "sudo" and set(argv[1:]) & {"-l", "-ll", "--list"}:
        return "`sudo -l` lists what this user may run as root: the survey before an escalation."
    return None



