"""Wrappers: commands that run another command given as their own arguments.

``sudo -u bob timeout 5 rm -rf x`` runs ``rm -rf x``. A rule written for ``rm`` must see it
(anthropics/claude-code#92542: any wrapper outside an eight-item strip list evaded deny
rules), so the parser strips every wrapper in this table, with its options and their
values, and records it. Each entry says how the wrapper's own options look (from its man
page): which short options take a value, which long ones do, how many operands come before
the wrapped command (``timeout``'s duration, ``chroot``'s new root), and which options mean
that no command follows at all (``command -v`` only looks a name up).

An option that is not in the table ends the analysis of that command with a problem: if it
took a value we did not skip, the word we call the command name would be wrong.
"""

from __future__ import annotations


class Spec:
    """How one wrapper's options look."""

    __slots__ = (
        "valued",
        "flags",
        "optional",
        "long_valued",
        "long_flags",
        "operands",
        "assignments",
        "context",
        "lookup",
        "any_long",
        "numeric",
        "join",
        "exec_flag",
        "shell_flags",
        "string_options",
    )

    def __init__(
        self,
        *,
        valued: str = "",
        flags: str = "",
        optional: str = "",
        long_valued: tuple[str, ...] = (),
        long_flags: tuple[str, ...] = (),
        operands: int = 0,
        assignments: bool = False,
        context: str | None = None,
        lookup: str = "",
        any_long: bool = False,
        numeric: bool = False,
        join: bool = False,
        exec_flag: str = "",
        shell_flags: str = "",
        string_options: tuple[str, ...] = (),
    ) -> None:
        self.valued = valued  # short options that take a value (attached or the next word)
        self.flags = flags  # short options without a value
        self.optional = optional  # short options whose value can only be attached (-i{})
        self.long_valued = frozenset(long_valued)  # --opt VALUE or --opt=VALUE
        self.long_flags = frozenset(long_flags)  # --opt (or --opt=VALUE for optional values)
        self.operands = operands  # operands before the wrapped command
        self.assignments = assignments  # VAR=value words may come before the command
        self.context = context  # context of the wrapped command, None: unchanged
        self.lookup = lookup  # short options after which no command is run
        self.any_long = any_long  # accept unknown --long=value / --long options as flags
        self.numeric = numeric  # -N is an option (nice -10)
        self.join = join  # the rest is joined with spaces and run by sh -c (watch)
        self.exec_flag = exec_flag  # ...unless this flag is given (watch -x)
        self.shell_flags = shell_flags  # flags that make it run the rest through a shell (sudo -s)
        self.string_options = frozenset(string_options)  # valued options run by sh -c (flock -c)


_SUDO_LONG_VALUED = (
    "--user",
    "--group",
    "--close-from",
    "--chdir",
    "--host",
    "--prompt",
    "--role",
    "--type",
    "--command-timeout",
    "--other-user",
    "--chroot",
)
_SUDO_LONG_FLAGS = (
    "--askpass",
    "--background",
    "--bell",
    "--preserve-env",
    "--set-home",
    "--login",
    "--remove-timestamp",
    "--reset-timestamp",
    "--non-interactive",
    "--preserve-groups",
    "--stdin",
    "--shell",
    "--version",
    "--validate",
    "--list",
    "--edit",
    "--help",
)

# Man pages: env(1), timeout(1), time(1), nice(1), nohup(1), stdbuf(1), bash(1) for command,
# builtin and exec, zshmisc(1) for noglob, sudo(8), doas(1), pkexec(1), ionice(1), chrt(1),
# taskset(1), setsid(1), unbuffer(1), caffeinate(8), watch(1), xargs(1), chroot(8),
# nsenter(1), unshare(1), strace(1), torsocks(1), proxychains4(1), xvfb-run(1),
# dbus-run-session(1), busybox(1), bash(1) for coproc, parallel(1), flock(1), script(1),
# firejail(1).
WRAPPERS: dict[str, Spec] = {
    "env": Spec(
        valued="uCSP",
        flags="i0v",
        long_valued=("--unset", "--chdir", "--split-string"),
        long_flags=(
            "--ignore-environment",
            "--null",
            "--debug",
            "--block-signal",
            "--default-signal",
            "--ignore-signal",
            "--list-signal-handling",
        ),
        assignments=True,
    ),
    "timeout": Spec(
        valued="sk",
        flags="v",
        long_valued=("--signal", "--kill-after"),
        long_flags=("--preserve-status", "--foreground", "--verbose"),
        operands=1,
    ),
    "time": Spec(
        valued="fo",
        flags="apqvV",
        long_valued=("--format", "--output"),
        long_flags=("--append", "--portability", "--verbose", "--quiet"),
    ),
    "nice": Spec(valued="n", long_valued=("--adjustment",), numeric=True),
    "nohup": Spec(),
    "stdbuf": Spec(valued="ioe", long_valued=("--input", "--output", "--error")),
    "command": Spec(flags="p", lookup="vV"),
    "builtin": Spec(),
    "noglob": Spec(),
    "exec": Spec(valued="a", flags="cl"),
    "sudo": Spec(
        valued="ugCDhprtTUR",
        flags="AbEHiKklnPSsVve",
        long_valued=_SUDO_LONG_VALUED,
        long_flags=_SUDO_LONG_FLAGS,
        assignments=True,
        context="sudo",
        lookup="lvKVe",
        shell_flags="si",
    ),
    "doas": Spec(valued="uC", flags="nsL", context="sudo", lookup="LC"),
    "pkexec": Spec(
        long_valued=("--user",),
        long_flags=("--disable-internal-agent", "--keep-cwd", "--version", "--help"),
        context="sudo",
    ),
    "ionice": Spec(valued="cnpPu", flags="t", long_valued=("--class", "--classdata"), lookup="pPu"),
    "chrt": Spec(
        valued="TPD",
        flags="abdefiorRv",
        long_valued=("--sched-runtime", "--sched-period", "--sched-deadline"),
        long_flags=("--all-tasks", "--batch", "--deadline", "--fifo", "--idle", "--other", "--rr", "--verbose"),
        operands=1,
        lookup="pm",
    ),
    "taskset": Spec(flags="ac", long_flags=("--all-tasks", "--cpu-list"), operands=1, lookup="p"),
    "setsid": Spec(flags="cfw", long_flags=("--ctty", "--fork", "--wait")),
    "unbuffer": Spec(flags="p"),
    "caffeinate": Spec(valued="tw", flags="dimsu"),
    "watch": Spec(
        valued="nq",
        flags="bcCdegprtwx",
        long_valued=("--interval", "--equexit"),
        long_flags=(
            "--beep",
            "--color",
            "--no-color",
            "--differences",
            "--errexit",
            "--chgexit",
            "--precise",
            "--no-rerun",
            "--no-title",
            "--no-wrap",
            "--exec",
        ),
        join=True,
        exec_flag="x",
    ),
    "xargs": Spec(
        valued="adEILnPsJRS",
        flags="0oprtx",
        optional="eil",
        long_valued=("--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"),
        long_flags=(
            "--null",
            "--open-tty",
            "--interactive",
            "--no-run-if-empty",
            "--verbose",
            "--exit",
            "--show-limits",
            "--max-lines",
            "--replace",
            "--eof",
        ),
        context="xargs",
    ),
    "chroot": Spec(long_valued=("--userspec", "--groups"), long_flags=("--skip-chdir",), operands=1),
    "nsenter": Spec(valued="tSGe", flags="aFmuinpUCTrwZ", any_long=True),
    "unshare": Spec(flags="muinpUCTfrcS", valued="", any_long=True),
    "strace": Spec(valued="abeEIoOpPsSuX", flags="cCdDfFhiknqrtTvVwxyYzZ", any_long=True),
    "torsocks": Spec(valued="uapP", flags="iqd6"),
    "proxychains": Spec(valued="f", flags="q"),
    "proxychains4": Spec(valued="f", flags="q"),
    "xvfb-run": Spec(valued="efnpsw", flags="ahl", any_long=True),
    "dbus-run-session": Spec(long_valued=("--config-file", "--dbus-daemon")),
    "flock": Spec(
        valued="wEc",
        flags="sxunoFhV",
        long_valued=("--timeout", "--conflict-exit-code", "--command"),
        long_flags=("--shared", "--exclusive", "--unlock", "--nonblock", "--nb", "--close", "--no-fork", "--verbose"),
        operands=1,
        string_options=("-c", "--command"),
    ),
    "script": Spec(  # without -c it starts an interactive shell: its operand is a log file
        valued="cEIOBTm",
        flags="aefqh",
        long_valued=("--command", "--echo", "--log-in", "--log-out", "--log-io", "--log-timing",
                     "--logging-format", "--output-limit"),
        long_flags=("--append", "--return", "--flush", "--force", "--quiet"),
        operands=1,
        string_options=("-c", "--command"),
    ),
    "firejail": Spec(any_long=True, context="sandbox"),  # firejail's options are all --opt[=value]
    "busybox": Spec(),
    "coproc": Spec(),
    "parallel": Spec(
        valued="jIaSdENLsCPn",
        flags="kquvXmr0tgG",
        long_valued=(
            "--jobs",
            "--arg-file",
            "--delimiter",
            "--colsep",
            "--sshlogin",
            "--results",
            "--joblog",
            "--tmpdir",
            "--workdir",
            "--timeout",
            "--retries",
            "--halt",
            "--delay",
            "--memfree",
            "--load",
            "--max-args",
            "--max-replace-args",
            "--env",
            "--tagstring",
        ),
        long_flags=(
            "--keep-order",
            "--line-buffer",
            "--bar",
            "--progress",
            "--eta",
            "--verbose",
            "--dry-run",
            "--null",
            "--quote",
            "--no-run-if-empty",
            "--group",
            "--ungroup",
            "--tag",
            "--pipe",
            "--xargs",
            "--will-cite",
        ),
        context="xargs",
        join=True,
    ),
}


class Stripped:
    """What stripping one wrapper found: where the wrapped command starts, and what came before."""

    __slots__ = ("start", "assignments", "unknown", "split_string", "exec_words", "through_shell", "shell_string")

    def __init__(self) -> None:
        self.start: int | None = None  # index of the wrapped command's name; None: none runs
        self.assignments: list[tuple[str, str]] = []
        self.unknown: str | None = None  # an option the table does not know
        self.split_string: int | None = None  # env -S: index of the string to split
        self.exec_words = False  # watch -x: the words are the command, no sh -c
        self.through_shell = False  # sudo -s CMD: the words are joined and run by a shell
        self.shell_string: tuple[int, int] | None = None  # flock -c STR: (word index, offset of STR)


def strip(values: list[str], spec: Spec) -> Stripped:
    """Find the wrapped command in ``values`` (``values[0]`` is the wrapper's name)."""
    out = Stripped()
    i, count = 1, len(values)
    while i < count:
        word = values[i]
        if word == "--":
            i += 1
            break
        if word == "-" or not word.startswith("-"):
            break
        if word in ("--help", "--version"):
            return out  # prints and exits: no command runs
        step = _option(values, i, spec, out)
        if step is None:
            return out
        i += step
    operands = spec.operands
    while i < count and operands:
        i += 1
        operands -= 1
    while spec.string_options and i < count and values[i].startswith("-") and out.shell_string is None:
        step = _option(values, i, spec, out)  # flock FILE -c STR: options after the operand
        if step is None:
            return out
        i += step
    if out.shell_string is not None:
        return out  # the string is the command; nothing else runs
    if spec.assignments:
        while i < count and _is_assignment(values[i]):
            name, _, value = values[i].partition("=")
            out.assignments.append((name, value))
            i += 1
    if i < count:
        out.start = i
    return out


def _option(values: list[str], i: int, spec: Spec, out: Stripped) -> int | None:
    """How many words the option at ``values[i]`` takes; None when no command will follow."""
    word = values[i]
    if word.startswith("--"):
        name = word.partition("=")[0]
        if name in spec.long_valued:
            if name in spec.string_options:
                out.shell_string = (i, len(name) + 1) if "=" in word else (i + 1, 0)
            if name == "--split-string":
                out.split_string = i if "=" in word else i + 1
            return 1 if "=" in word else 2
        if name in spec.long_flags or spec.any_long:
            if name == "--exec" and spec.exec_flag:
                out.exec_words = True
            if name in ("--shell", "--login") and spec.shell_flags:
                out.through_shell = True
            return 1
        out.unknown = word
        return None
    if spec.numeric and word[1:].isdigit():
        return 1
    for offset, letter in enumerate(word[1:], start=1):
        if letter in spec.lookup:
            return None
        if letter in spec.valued:
            attached = offset + 1 < len(word)
            if "-" + letter in spec.string_options:
                out.shell_string = (i, offset + 1) if attached else (i + 1, 0)
            if letter == "S" and "S" in spec.valued and spec.assignments:
                out.split_string = i if attached else i + 1
            return 1 if attached else 2
        if letter in spec.optional:
            return 1
        if letter not in spec.flags:
            out.unknown = word
            return None
        if letter in spec.exec_flag:
            out.exec_words = True
        if letter in spec.shell_flags:
            out.through_shell = True
    return 1


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()
