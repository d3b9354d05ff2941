"""Persistence: changes that run code later, outside this command.

A line added to ``~/.bashrc``, a crontab entry, a systemd unit or launch agent, a git hook
or a ``core.fsmonitor`` setting, an SSH ``authorized_keys`` line, a Python ``.pth`` file:
each runs code the next time something ordinary happens (a shell opens, a minute passes,
``git status`` runs, Python starts), long after anyone looked at this command. Writes to
system configuration under ``/etc`` are in this family too. All are asked.

- RF-PERS-001 (HIGH): writes under ``/etc`` (``/etc/ld.so.preload`` is CRITICAL:
  RF-PERS-008).
- RF-PERS-002 (HIGH): writes a shell or session startup file (``~/.bashrc``,
  ``~/.profile``, ``~/.zshrc``, fish config, ``/etc/profile.d``, autostart entries).
- RF-PERS-003 (HIGH): installs scheduled jobs (``crontab``, ``/etc/cron*``, ``at``).
- RF-PERS-004 (HIGH): installs or enables services (systemd units, ``systemctl enable``,
  launchd agents, ``launchctl load``).
- RF-PERS-005 (HIGH): git settings and hooks that run commands (``.git/hooks/*``,
  ``core.hooksPath``, ``core.fsmonitor``, ``core.sshCommand``, ``core.pager``,
  ``filter.*``, ``diff.*.textconv``, ``alias.* = !...``, ``include.path``).
- RF-PERS-006 (HIGH): SSH access and behaviour (``authorized_keys``, ``~/.ssh/config``,
  ``~/.ssh/rc``, ``sshd_config``).
- RF-PERS-007 (MEDIUM): code Python runs at start-up (``*.pth``, ``sitecustomize.py``,
  ``usercustomize.py``).
- RF-PERS-008 (CRITICAL): ``/etc/ld.so.preload``, which loads a library into every program.
- RF-PERS-009 (HIGH): points a package manager at another registry or index (writes to
  ``~/.npmrc``, ``.yarnrc``, ``pip.conf``, ``.condarc``, cargo or maven settings;
  ``npm config set registry``, ``pip config set global.index-url``): every later install
  comes from there.
- RF-PERS-010 (HIGH): code that runs by itself later: npm lifecycle scripts
  (``npm pkg set scripts.postinstall=...``), ``direnv allow``, ``loginctl enable-linger``,
  ``kubectl create cronjob``, editor task files (``.vscode/tasks.json``,
  ``devcontainer.json``, JetBrains run configurations).

Startup files (RF-PERS-002) include editors' and tools' (``~/.vimrc``, nvim's ``init.lua``,
``~/.tmux.conf``, ``~/.emacs``, ``~/.gitconfig``, ``~/.curlrc``, ``.envrc``); RF-PERS-007 also
catches inline code (``python3 -c``) writing ``sitecustomize.py`` or a ``.pth`` file.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import LazyPattern, lazy
from ringfence.analysis.risk import Severity, rule
from ringfence.analysis.risk._words import inline_code, normal, safe, split_options, written_paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ringfence.analysis.bash import SimpleCommand

_STARTUP = lazy(
    r"(?:^|/)(?:\.bashrc|\.bash_profile|\.bash_login|\.bash_logout|\.profile|\.zshrc|\.zprofile|\.zshenv|\.zlogin"
    r"|\.zlogout|\.kshrc|\.cshrc|\.tcshrc|\.xprofile|\.xinitrc|\.xsessionrc|\.pam_environment|\.inputrc"
    r"|\.config/fish/(?:config\.fish|conf\.d/[^/]+)|\.config/autostart/[^/]*"
    r"|\.vimrc|\.gvimrc|\.exrc|\.vim/(?:plugin|autoload|ftplugin)/[^/]+|\.config/nvim/(?:init\.(?:vim|lua)|plugin/[^/]+)"
    r"|\.tmux\.conf|\.config/tmux/tmux\.conf|\.screenrc|\.emacs|\.emacs\.d/(?:init|early-init)\.el"
    r"|\.wgetrc|\.curlrc|\.gitconfig|\.config/git/config|\.envrc)$"
    r"|^/etc/(?:profile(?:\.d/.*)?|bash\.bashrc|bashrc|zsh/\S+|environment|xdg/autostart/.*)$"
)
_CRON = lazy(r"^/etc/(?:cron\.|crontab|anacrontab)|^/var/spool/(?:cron|at)/")
_SERVICES = lazy(
    r"(?:^|/)\.config/systemd/user(?:/|$)|^/(?:etc|lib|usr/lib|run)/systemd/(?:system|user)(?:/|$)|^/etc/init\.d(?:/|$)"
    r"|^/etc/rc\.local$|(?:^|/)Library/(?:LaunchAgents|LaunchDaemons)(?:/|$)"
)
_SSH = lazy(r"(?:^|/)\.ssh/(?:authorized_keys2?|config|rc|environment)$|^/etc/ssh/(?:sshd?_config(?:\.d/.*)?)$")
_PYTHON_STARTUP = lazy(r"(?:^|/)(?:[^/]+\.pth|sitecustomize\.py|usercustomize\.py)$")
_GIT_HOOKS = lazy(r"(?:^|/)\.git/hooks(?:/[^/]*)?$|(?:^|/)\.git/config$")
_PACKAGE_CONFIG = lazy(
    r"(?:^|/)(?:\.npmrc|\.yarnrc(?:\.yml)?|\.bunfig\.toml|\.pip/pip\.conf|\.config/pip/pip\.conf|pip\.ini"
    r"|\.pydistutils\.cfg|\.condarc|\.cargo/config(?:\.toml)?|\.m2/settings\.xml|\.gradle/gradle\.properties"
    r"|\.config/uv/uv\.toml|\.gemrc)$|^/etc/pip\.conf$"
)
_EDITOR_TASKS = lazy(
    r"(?:^|/)(?:\.vscode/(?:tasks|settings|launch)\.json|\.devcontainer/devcontainer\.json|\.devcontainer\.json"
    r"|\.idea/(?:workspace|runConfigurations/[^/]+)\.xml)$"
)
_LIFECYCLE = frozenset({"preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare", "prepublish",
                        "preuninstall", "postuninstall", "prepack", "postpack"})
_REGISTRY_KEYS = lazy(r"^(?:@[\w.-]+:)?registry$|^(?:global|user|site|install)\.(?:index-url|extra-index-url|trusted-host)$"
                      r"|^(?:npmRegistryServer|index-url|extra-index-url|trusted-host)$", re.IGNORECASE)
_GIT_KEYS = lazy(
    r"^(?:core\.(?:hookspath|fsmonitor|sshcommand|pager|editor|askpass|gitproxy)|filter\..+\.(?:clean|smudge|process)"
    r"|diff\..+\.(?:textconv|command)|merge\..+\.driver|include\.path|includeif\..+\.path|sequence\.editor"
    r"|credential\.helper|url\..+\.insteadof|uploadpack\.packobjectshook|http\.proxy)$",
    re.IGNORECASE,
)


def _writes(command: SimpleCommand, pattern: LazyPattern) -> str | None:
    for path in written_paths(command):
        if pattern.search(path):
            return path
    return None


@rule("RF-PERS-001", Severity.HIGH, "Writes system configuration under /etc.", writes=True)
def etc(command: SimpleCommand) -> str | None:
    path = _writes(command, lazy(r"^/etc/"))
    if path is None or path == "/etc/ld.so.preload" or path.startswith("/etc/sudoers"):
        return None  # RF-PERS-008, RF-PRIV-006
    return f"It changes the system configuration file {safe(path, 'under /etc')}."


@rule("RF-PERS-002", Severity.HIGH, "Writes a shell or session startup file (~/.bashrc, ~/.profile, ~/.zshrc...).", writes=True)
def startup_files(command: SimpleCommand) -> str | None:
    path = _writes(command, _STARTUP)
    if path is None:
        return None
    return f"It changes {safe(path, 'a startup file')}, which runs in every new shell or session."


@rule("RF-PERS-003", Severity.HIGH, "Installs scheduled jobs (crontab, /etc/cron*, at).")
def scheduled(command: SimpleCommand) -> str | None:
    name = command.name
    if name == "crontab":
        options, operands = split_options(command.argv, valued="u")
        if options & {"l", "r"} and not operands:
            return None  # lists or removes
        return "`crontab` installs jobs that run on a schedule."
    if name in ("at", "batch") and not set(command.argv[1:]) & {"-l", "-r", "-d"}:
        return f"`{name}` schedules a command to run later."
    if _writes(command, _CRON):
        return "It writes a cron file, which runs jobs on a schedule."
    return None


@rule("RF-PERS-004", Severity.HIGH, "Installs or enables a service (systemd, launchd, init.d).")
def services(command: SimpleCommand) -> str | None:
    argv = command.argv
    if command.name == "systemctl" and set(argv[1:]) & {"enable", "link", "preset", "reenable", "edit", "set-property"}:
        return "`systemctl` installs or enables a service that starts on its own."
    if command.name == "launchctl" and set(argv[1:2]) & {"load", "bootstrap", "submit", "enable"}:
        return "`launchctl` loads an agent that starts on its own."
    if command.name == "systemd-run" and any(a.startswith(("--on-", "--timer-property")) for a in argv):
        return "`systemd-run` schedules a command with a timer."
    if _writes(command, _SERVICES):
        return "It writes a service definition that starts on its own."
    return None


@rule("RF-PERS-005", Severity.HIGH, "Git hooks or settings that run commands (core.hooksPath, core.fsmonitor...).")
def git_execution(command: SimpleCommand) -> str | None:
    if _writes(command, _GIT_HOOKS):
        return "It writes a git hook or git config, which git runs or obeys on every operation."
    if command.name == "chmod" and any(_GIT_HOOKS.search(normal(a)) for a in split_options(command.argv)[1][1:]):
        return "It makes a git hook executable, so git runs it on every commit or checkout."
    if command.name != "git":
        return None
    argv = command.argv
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "-c" and i + 1 < len(argv) and _GIT_KEYS.match(argv[i + 1].partition("=")[0]):
            return "`git -c` sets an option that makes git run a command."
        if arg == "config":
            keys = [a for a in argv[i + 1 :] if not a.startswith("-")]
            if keys and _GIT_KEYS.match(keys[0]) and len(keys) >= 2:
                return f"`git config {keys[0].lower()}` makes git run a command later."
            if keys and keys[0].lower().startswith("alias.") and len(keys) >= 2 and keys[1].startswith("!"):
                return "`git config alias` with `!` defines a shell command git runs."
            break
    return None


@rule("RF-PERS-006", Severity.HIGH, "Changes SSH access or behaviour (authorized_keys, ~/.ssh/config, sshd_config).", writes=True)
def ssh_access(command: SimpleCommand) -> str | None:
    path = _writes(command, _SSH)
    if path is None:
        return None
    if "authorized_keys" in path:
        return "It adds to authorized_keys, letting someone log in as you."
    return "It changes SSH configuration, which can run commands or open access."


@rule("RF-PERS-007", Severity.MEDIUM, "Writes code Python runs at start-up (*.pth, sitecustomize.py).")
def python_startup(command: SimpleCommand) -> str | None:
    if _writes(command, _PYTHON_STARTUP):
        return "It writes a file Python runs at every start-up (.pth or sitecustomize)."
    code = inline_code(command)
    if code and ("sitecustomize" in code or "usercustomize" in code or ".pth" in code) and _WRITE_CALL.search(code):
        return "Its inline code writes a file Python runs at every start-up (.pth or sitecustomize)."
    return None


_WRITE_CALL = lazy(r"""\.write\(|write_text|write_bytes|writeFile|appendFile|copyfile|shutil\.copy|symlink""")


@rule("RF-PERS-009", Severity.HIGH, "Redirects a package manager to another registry or index (~/.npmrc, pip.conf...).")
def package_sources(command: SimpleCommand) -> str | None:
    path = _writes(command, _PACKAGE_CONFIG)
    if path is not None:
        return f"It changes {safe(path, 'a package manager configuration file')}, which decides where packages come from."
    name, argv = command.name, command.argv
    if name in ("npm", "pnpm", "yarn", "bun", "pip", "pip3", "uv", "poetry", "conda"):
        words = [a for a in argv[1:] if not a.startswith("-")]
        if words[:2] in (["config", "set"], ["config", "add"]) and len(words) >= 3:
            key = words[2].partition("=")[0]
            if _REGISTRY_KEYS.match(key) or key.startswith(("repositories.", "channels")):
                return f"`{name} config` points it at another package source."
    return None


@rule("RF-PERS-010", Severity.HIGH, "Code that runs on its own later: npm lifecycle scripts, direnv allow, editor tasks.")
def runs_later(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name in ("npm", "pnpm", "yarn", "bun") and "pkg" in argv[1:3] and "set" in argv[2:4]:
        for arg in argv[3:]:
            key = arg.partition("=")[0]
            if key.startswith("scripts.") and key[8:] in _LIFECYCLE:
                return f"It sets the `{key[8:]}` script, which npm runs by itself on every install."
    if name == "direnv" and set(argv[1:2]) & {"allow", "permit", "grant"}:
        return "`direnv allow` lets .envrc run every time a shell enters the folder."
    if name == "loginctl" and "enable-linger" in argv[1:]:
        return "`loginctl enable-linger` keeps this user's services running after logout and across reboots."
    if name == "kubectl" and "create" in argv[1:3] and "cronjob" in argv[2:4]:
        return "`kubectl create cronjob` runs a container on a schedule in the cluster."
    path = _writes(command, _EDITOR_TASKS)
    if path is not None:
        return f"It writes {safe(path, 'editor task settings')}, which an editor can run by itself when the folder opens."
    return None


@rule("RF-PERS-008", Severity.CRITICAL, "Writes /etc/ld.so.preload, loading a library into every program.", writes=True)
def preload(command: SimpleCommand) -> str | None:
    if _writes(command, lazy(r"^/etc/ld\.so\.preload$")):
        return "It writes /etc/ld.so.preload, which injects a library into every program on the machine."
    return None
