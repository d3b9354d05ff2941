"""Remote code execution: running code fetched from the network, unseen.

``curl ... | sh`` runs whatever the server sends at that moment, which nobody reviewed and
which can differ from what a browser showed. The same goes for ``bash <(curl ...)``,
``sh -c "$(curl ...)"``, a download run right after it lands, and inline Python or Node
code that fetches and ``exec``s. Those are denied. Installing a package from a URL or a git
repository, and ``npx``-style runners of packages nobody named in advance, are asked.

``npx``, ``pnpx``, ``bunx``, ``pnpm dlx``, ``yarn dlx``, ``npm exec``, ``uvx`` and ``pipx
run`` download and run a package in one step. A short list of very widely used tools
(``_KNOWN_RUNNERS``: TypeScript, Prettier, ESLint, Jest, Vitest, Playwright, the
create-* scaffolders, Ruff, Black...) runs without a prompt; anything else is asked, since
a typo in a package name is enough to run a stranger's code. The list matches exact names
only, so a look-alike name is still asked.

- RF-RCE-001 (CRITICAL): a download piped into a shell or interpreter.
- RF-RCE-002 (CRITICAL): a shell, ``source`` or ``eval`` reading a download through
  ``<( )`` or ``$( )``.
- RF-RCE-003 (HIGH): a file downloaded and then executed in the same command.
- RF-RCE-004 (CRITICAL): inline code (``python -c``, ``node -e``, ``perl -e``...) that
  fetches from the network and executes what it gets.
- RF-RCE-005 (MEDIUM): ``pip``/``uv``/``npm``/``yarn``/``cargo`` installing from a URL, a
  git repository or an untrusted index.
- RF-RCE-006 (MEDIUM): ``npx``-style runners of a package not on the known list.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import DOWNLOADERS, INTERPRETERS, SHELLS, option_value, reads_stdin_script, safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand


def _downloads(command: SimpleCommand) -> bool:
    if command.name in DOWNLOADERS:
        return True
    if command.name in ("python", "python3") and "-c" in command.argv:
        return bool(_NETWORK.search(" ".join(command.argv)))
    return False


@parsed_rule("RF-RCE-001", Severity.CRITICAL, "Pipes a download into a shell or interpreter (curl | sh).")
def pipe_to_shell(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    by_pipeline: dict[int, list[tuple[int, SimpleCommand]]] = {}
    for index, command in enumerate(parsed.commands):
        if command.pipeline >= 0:
            by_pipeline.setdefault(command.pipeline, []).append((index, command))
    for members in by_pipeline.values():
        fetched_at = min((c.stage for _, c in members if _downloads(c)), default=None)
        if fetched_at is None:
            continue
        for index, command in members:
            if command.stage > fetched_at and reads_stdin_script(command):
                yield index, f"It pipes a download straight into `{command.name}`, running code nobody has reviewed."
                break


_DOWNLOAD_SUBSTITUTION = lazy(r"(?:<\(|\$\(|`)\s*(?:\w+=\S*\s+)*(?:sudo\s+)?(?:curl|wget|fetch|http|xh|aria2c)\b")


@rule("RF-RCE-002", Severity.CRITICAL, 'Runs a download through <( ) or $( ): bash <(curl ...), sh -c "$(curl ...)".')
def substituted_download(command: SimpleCommand) -> str | None:
    name = command.name
    if name not in SHELLS and name not in INTERPRETERS and name not in ("source", ".", "eval"):
        return None
    if any(_DOWNLOAD_SUBSTITUTION.search(arg) for arg in command.argv[1:]):
        return f"`{name}` runs code straight from a download, which nobody has reviewed."
    return None


_OUTPUT_OPTIONS = ("-o", "--output", "-O", "--output-document", "--out")


@parsed_rule("RF-RCE-003", Severity.HIGH, "Downloads a file and executes it in the same command.")
def download_then_run(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    saved: set[str] = set()
    for index, command in enumerate(parsed.commands):
        if command.name in DOWNLOADERS:
            saved.update(_saved_files(command))
            continue
        if not saved:
            continue
        if _executes(command) & saved:
            yield index, f"It runs a file it has just downloaded (`{command.name}`), unreviewed."


def _saved_files(command: SimpleCommand) -> set[str]:
    files = {r.target.removeprefix("./") for r in command.redirects if r.writes and r.target}
    value = option_value(command.argv, *_OUTPUT_OPTIONS) or _clustered_output(command)
    if value and value != "-":
        files.add(value.removeprefix("./"))
    if command.name == "wget" and value is None:
        urls = [a for a in command.argv[1:] if "://" in a]
        if urls:
            files.add(urls[0].rstrip("/").rpartition("/")[2].partition("?")[0])
    if "-O" in command.argv and command.name == "curl":  # curl -O: named after the URL
        urls = [a for a in command.argv[1:] if "://" in a]
        files.update(u.rstrip("/").rpartition("/")[2] for u in urls)
    return {f for f in files if f}


def _clustered_output(command: SimpleCommand) -> str | None:
    """``curl -sSLo FILE`` / ``wget -qO FILE``: the output option at the end of a cluster."""
    letter = "o" if command.name == "curl" else "O"
    argv = command.argv
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-") and not arg.startswith("--") and letter in arg[1:]:
            rest = arg[arg.index(letter, 1) + 1 :]
            return rest or (argv[i + 1] if i + 1 < len(argv) else None)
    return None


def _executes(command: SimpleCommand) -> set[str]:
    argv = command.argv
    if not argv:
        return set()
    if command.name in SHELLS or command.name in INTERPRETERS or command.name in ("source", ".", "chmod"):
        return {a.removeprefix("./") for a in argv[1:] if not a.startswith("-")}
    return {argv[0].removeprefix("./")}


_NETWORK = lazy(
    r"urllib|urlopen|urlretrieve|requests\.(get|post)|http\.client|httpx|\bfetch\(|https?\.get|LWP|open-uri|Net::HTTP"
    r"|Invoke-WebRequest|\biwr\b|DownloadString|WebClient|socket\.create_connection|require\(['\"]https?['\"]\)"
)
_EXECUTE = lazy(
    r"\bexec\b|\beval\b|os\.system|subprocess|__import__|child_process|\bspawn|execSync|Function\(|\bsystem\("
    r"|\biex\b|Invoke-Expression|compile\("
)
_PY_OR_PS = lazy(r"^(python3?(\.\d+)?|powershell)$")
_INLINE_FLAGS = frozenset({"-c", "-e", "-E", "--eval", "-p", "--print", "-r", "-Command", "-command"})


@rule("RF-RCE-004", Severity.CRITICAL, "Inline code that fetches from the network and executes what it gets.")
def inline_fetch_exec(command: SimpleCommand) -> str | None:
    name = command.name
    if name not in INTERPRETERS and not (name.startswith(("python", "powershell")) and _PY_OR_PS.match(name)):
        return None
    argv = command.argv
    code = " ".join(argv[i + 1] for i, a in enumerate(argv[:-1]) if a in _INLINE_FLAGS)
    if code and _NETWORK.search(code) and _EXECUTE.search(code):
        return f"`{name}` runs inline code that downloads code and executes it."
    return None


_VCS_OR_URL = lazy(r"^(git\+|hg\+|svn\+|bzr\+|https?://|ftp://|github:|gitlab:|bitbucket:|git@|git://)")
_TRUSTED_INDEXES = lazy(r"^https://(pypi\.org|files\.pythonhosted\.org|registry\.npmjs\.org|registry\.yarnpkg\.com)/")


@rule("RF-RCE-005", Severity.MEDIUM, "Installs a package from a URL, a git repository or an untrusted index.")
def install_from_url(command: SimpleCommand) -> str | None:
    argv = command.argv
    tool = _installer(command)
    if tool is None:
        return None
    for i, arg in enumerate(argv[1:], start=1):
        if _VCS_OR_URL.match(arg) or re.search(r"@\s*(git\+|https?://)", arg):
            return f"`{tool}` installs code straight from a URL or repository, outside the package registry."
        if arg in (
            "-i",
            "--index-url",
            "--extra-index-url",
            "--registry",
            "--trusted-host",
            "--index",
            "--default-index",
        ):
            value = argv[i + 1] if i + 1 < len(argv) else ""
            if arg == "--trusted-host" or not _TRUSTED_INDEXES.match(value):
                return f"`{tool}` installs from a package index other than the public registry."
        if arg.startswith("--trusted-host=") or (
            arg.startswith(("--index-url=", "--extra-index-url=", "--registry="))
            and not _TRUSTED_INDEXES.match(arg.partition("=")[2])
        ):
            return f"`{tool}` installs from a package index other than the public registry."
    return None


def _installer(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    words = argv[1:4]
    if name in ("pip", "pip3", "pipx") and "install" in words:
        return name
    if name.startswith("python") and "pip" in argv[1:4] and "install" in argv:
        return "pip"
    if name == "uv" and "install" in argv[1:4] or name == "uv" and "add" in words:
        return "uv"
    if name in ("npm", "pnpm", "yarn", "bun") and set(words) & {"install", "i", "add"}:
        return name
    if name == "cargo" and "install" in words and ("--git" in argv or "--index" in argv):
        return "cargo install --git" if "--git" in argv else "cargo"
    if name == "gem" and "install" in words and "--source" in argv:
        return "gem"
    return None


# Exact package names that run without a prompt (see the module docstring).
_KNOWN_RUNNERS = frozenset(
    {
        "typescript",
        "tsc",
        "prettier",
        "eslint",
        "jest",
        "vitest",
        "playwright",
        "@playwright/test",
        "create-react-app",
        "create-next-app",
        "create-vite",
        "create-svelte",
        "sv",
        "vite",
        "next",
        "nuxi",
        "astro",
        "tsx",
        "ts-node",
        "npm-check-updates",
        "ncu",
        "rimraf",
        "prisma",
        "@angular/cli",
        "storybook",
        "wrangler",
        "vercel",
        "netlify-cli",
        "@biomejs/biome",
        "husky",
        "lint-staged",
        "@commitlint/cli",
        "@changesets/cli",
        "tailwindcss",
        "esbuild",
        "webpack",
        "rollup",
        "turbo",
        "nx",
        "serve",
        "http-server",
        "pyright",
        "ruff",
        "black",
        "mypy",
        "pytest",
        "pre-commit",
        "isort",
        "flake8",
        "tox",
        "nox",
        "cowsay",
    }
)


@rule("RF-RCE-006", Severity.MEDIUM, "npx/bunx/uvx/pnpm dlx of a package not on ringfence's short list of known tools.")
def package_runner(command: SimpleCommand) -> str | None:
    package = _runner_package(command)
    if package is None or package in _KNOWN_RUNNERS:
        return None
    shown = safe(package, "a package") if re.fullmatch(r"@?[\w.-]{1,60}(/[\w.-]{1,60})?", package) else "a package"
    return f"`{command.name}` downloads and runs {shown}, which is not on the list of known tools."


_SUBCOMMAND_RUNNERS = frozenset(
    {("pnpm", ("dlx",)), ("yarn", ("dlx",)), ("npm", ("exec",)), ("npm", ("x",)), ("pipx", ("run",)), ("bun", ("x",))}
)


def _runner_package(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name in ("npx", "pnpx", "bunx", "uvx"):
        rest = argv[1:]
    elif (name, argv[1:2]) in _SUBCOMMAND_RUNNERS:
        rest = argv[2:]
    else:
        return None
    explicit = option_value(("",) + rest, "-p", "--package", "--from")
    if explicit:
        return _strip_version(explicit)
    for arg in rest:
        if arg == "--":
            continue
        if not arg.startswith("-"):
            return _strip_version(arg)
    return None


def _strip_version(spec: str) -> str:
    if spec.startswith("@"):
        scope, _, rest = spec[1:].partition("/")
        return "@" + scope + "/" + rest.partition("@")[0] if rest else spec
    return re.split(r"[@=<>~]", spec, maxsplit=1)[0]
