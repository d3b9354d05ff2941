"""Remote code execution: running code fetched from the network, unseen.

``curl ... | sh`` runs whatever the server sends at that moment, which nobody reviewed and
which can differ from what a browser showed. The same goes for ``bash <(curl ...)``,
``sh -c "$(curl ...)"``, a download run right after it lands (or a file unpacked from a
downloaded archive), code the language fetches and runs itself (``Rscript -e
'source("https://...")'``, ``deno run -A https://...``) and inline Python, PHP or Node code
that fetches and ``exec``s. Those are denied. Installing a package from a URL or a git
repository, ``npx``-style runners of packages nobody named in advance, look-alike package
names, and other people's code run in one step (``go run module@version``, ``kubectl apply
-f https://...``, a repository cloned and its script run) are asked.

``npx``, ``pnpx``, ``bunx``, ``pnpm dlx``, ``yarn dlx``, ``npm exec``, ``uvx`` and ``pipx
run`` download and run a package in one step. A list of widely used tools
(``_KNOWN_RUNNERS``: TypeScript, Prettier, ESLint, Jest, Vitest, Playwright, Cypress, the
create-* scaffolders, Ruff, Black...) runs without a prompt; anything else is asked, since
a typo in a package name is enough to run a stranger's code. The list matches exact names
only, so a look-alike name is still asked.

Typo-squats (RF-RCE-014): ``_packages`` holds about 150 of the most downloaded names of PyPI
and of npm; a name one edit away from one of them (two for names of eight letters or more,
a swap of neighbouring letters counting as one) that is not itself widely used is asked,
as is a name from the public advisories of malicious packages (``python3-dateutil``,
``jeIlyfish``, ``crossenv``...). Scoped npm names (``@types/node``) are not compared.

Containers (RF-RCE-012/013): an image is well known when it is a Docker official image (a
bare name such as ``node:20``, or ``library/...``), one built here (a bare name too), an
image of a vendor whose image is the official way to run its tool (Docker Hub namespaces
such as ``amazon``, ``google``, ``bitnami``, ``hashicorp``, ``grafana``: ``_VENDORS``) or of
a platform maker's registry (``mcr.microsoft.com``, ``registry.k8s.io``,
``gcr.io/distroless``, ``public.ecr.aws/docker``). Any other image (``someuser/tool``,
``ghcr.io/x/y``) is a stranger's code: running it with your home folder, credentials
(``~/.ssh``, ``~/.aws``...), the docker socket or system folders mounted is denied; with
``--network host``, ``--privileged``, ``--pid host`` or ``--restart always|unless-stopped``
it is asked. Mounting the project (``-v "$PWD":/app``) is fine.

- RF-RCE-001 (CRITICAL): a download piped into a shell or interpreter, or into ``xargs
  sh -c '{}'``.
- RF-RCE-002 (CRITICAL): a shell, ``source`` or ``eval`` reading a download through
  ``<( )`` or ``$( )``.
- RF-RCE-003 (CRITICAL): a file downloaded (``curl -o``/``-O``, ``wget``, ``> file``, ``php -r
  "copy('https://...', f)"``, ``urlretrieve``) and then run in the same command, also after
  ``mv``/``cp``/``gunzip``, into a ``bin`` folder and run by name, or a file run from a
  downloaded archive unpacked with ``tar``/``unzip``.
- RF-RCE-004 (CRITICAL): inline code (``python -c``, ``node -e``, ``perl -e``, ``php -r``,
  ``Rscript -e``...) that fetches from the network and executes what it gets, or runs a URL
  directly (``source("https://...")``, ``include 'https://...'``).
- RF-RCE-005 (MEDIUM): ``pip``/``uv``/``npm``/``yarn``/``cargo`` installing from a URL, a
  git repository or an untrusted index.
- RF-RCE-006 (MEDIUM): ``npx``-style runners of a package not on the known list.
- RF-RCE-007 (CRITICAL): ``deno run``/``install`` of a script URL with every permission
  (``-A``, ``--allow-all``) or the right to run programs or native code (``--allow-run``,
  ``--allow-ffi``).
- RF-RCE-008 (HIGH): ``deno run`` of a script URL with narrower permissions.
- RF-RCE-009 (HIGH): ``go run``/``go install`` of ``module@version`` from outside the Go
  project, Google, Kubernetes, HashiCorp, Uber and well-known Go tool makers
  (``_GO_KNOWN``); ``go install golang.org/x/tools/gopls@latest`` and ``go run ./cmd`` are
  not flagged.
- RF-RCE-010 (HIGH): ``kubectl``/``oc`` ``apply``/``create``/``replace`` of manifests from a
  URL (``-f https://...``, ``-k github.com/...``), unless ``--dry-run``.
- RF-RCE-011 (HIGH): ``git clone`` and then a script from the clone run in the same command
  (``bash repo/install.sh``, ``cd repo && ./install.sh``); ``make`` or ``npm`` there are not
  flagged.
- RF-RCE-012 (CRITICAL): a container of an image that is not well known, given your home
  folder, credentials, the docker socket or system folders.
- RF-RCE-013 (HIGH): a container of an image that is not well known, run with the host's
  network, privileges or processes, or to restart always.
- RF-RCE-014 (HIGH): ``pip``/``uv``/``poetry``/``pdm``/``pipx``/``npm``/``yarn``/``pnpm``/
  ``bun`` installing, or ``npx``/``uvx`` running, a typo-squat of a popular package or a
  name reported as malicious.
- RF-RCE-015 (CRITICAL): an apt source whose signatures are not checked
  (``deb [trusted=yes] http://...``).
- RF-RCE-016 (HIGH): installing packages with signature checks off
  (``--allow-unauthenticated``, ``--nogpgcheck``, ``AllowInsecureRepositories=true``).
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._flow import executed, key, runs_file, runs_stdin, shell_like
from ringfence.analysis.risk._words import (
    DOWNLOADERS,
    INTERPRETERS,
    SHELLS,
    inline_code,
    normal,
    option_value,
    safe,
    secret,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand


def _downloads(command: SimpleCommand) -> bool:
    if command.name in DOWNLOADERS:
        return True
    code = inline_code(command)
    return bool(code) and bool(_NETWORK.search(code))


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
            if command.stage > fetched_at and runs_stdin(command):
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


_OUTPUT_OPTIONS = ("-o", "--output", "-O", "--output-document", "--out", "-OutFile")


@parsed_rule(
    "RF-RCE-003",
    Severity.CRITICAL,
    "Downloads a file (or an archive) and runs it, or a file unpacked from it, in the same command.",
)
def download_then_run(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    saved: set[str] = set()  # downloaded files (keys), and where they were moved or unpacked
    roots: set[str] = set()  # folders downloaded archives were unpacked into ("." for here)
    for index, command in enumerate(parsed.commands):
        files = _saved_files(command)
        if files:
            saved |= files
            continue
        if not saved:
            continue
        if runs_file(command, saved) or roots and _runs_unpacked(command, roots):
            yield index, f"It runs code it has just downloaded (`{safe(command.name, 'a program')}`), unreviewed."
            continue
        roots |= _unpacked(command, saved)
        saved |= _moved(command, saved)


_CODE_DOWNLOADS = lazy(
    r"""(?:\bcopy|urlretrieve|download\.file)\s*\(\s*['"]https?://[^'"]*['"]\s*,\s*(?:destfile\s*=\s*)?['"]([^'"]+)['"]"""
    r"""|file_put_contents\s*\(\s*['"]([^'"]+)['"]\s*,\s*file_get_contents\s*\(\s*['"]https?://"""
)


def _saved_files(command: SimpleCommand) -> set[str]:
    """Files a download writes: ``curl -o F``/``-O``, ``wget [-O F|-P D]``, ``> F``, and
    inline code (``php -r "copy('https://...', F)"``, ``urlretrieve(URL, F)``)."""
    name, argv = command.name, command.argv
    if name not in DOWNLOADERS:
        code = inline_code(command) or (" ".join(argv[1:]) if name in ("pwsh", "powershell") else "")
        if not code or "http" not in code:
            return set()
        found = {key(m.group(1) or m.group(2)) for m in _CODE_DOWNLOADS.finditer(code)}
        out = option_value(argv, "-OutFile") if name in ("pwsh", "powershell") else None
        return found | ({key(out)} if out else set())
    files = {r.target for r in command.redirects if r.writes and r.target and r.target != "/dev/null"}
    value = option_value(argv, *_OUTPUT_OPTIONS) or _clustered_output(command)
    if value and value != "-":
        files.add(value)
    urls = [a for a in argv[1:] if "://" in a]
    named = [u.partition("?")[0].partition("#")[0].rstrip("/").rpartition("/")[2] for u in urls]
    if name == "wget" and value is None:
        folder = option_value(argv, "-P", "--directory-prefix")
        files.update(f"{folder}/{n}" if folder else n for n in named[:1])
    if name == "curl" and _remote_name(argv):  # curl -O: named after the URL
        folder = option_value(argv, "--output-dir")
        files.update(f"{folder}/{n}" if folder else n for n in named)
    return {key(f) for f in files if f}


def _remote_name(argv: tuple[str, ...]) -> bool:
    return any(
        a in ("--remote-name", "--remote-name-all") or a.startswith("-") and not a.startswith("--") and "O" in a
        for a in argv[1:]
    )


def _clustered_output(command: SimpleCommand) -> str | None:
    """``curl -sSLo FILE`` / ``wget -qO FILE``: the output option at the end of a cluster."""
    letter = "o" if command.name == "curl" else "O"
    argv = command.argv
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-") and not arg.startswith("--") and letter in arg[1:]:
            rest = arg[arg.index(letter, 1) + 1 :]
            return rest or (argv[i + 1] if i + 1 < len(argv) else None)
    return None


_UNPACKERS = frozenset({"tar", "bsdtar", "gtar", "unzip", "7z", "7za", "bsdunzip"})
_DECOMPRESSORS = {"gunzip": ".gz", "bunzip2": ".bz2", "unxz": ".xz", "unzstd": ".zst"}


def _unpacked(command: SimpleCommand, saved: set[str]) -> set[str]:
    """Folders a downloaded archive is unpacked into (``tar xzf F -C D``, ``unzip F -d D``)."""
    name, argv = command.name, command.argv
    if name not in _UNPACKERS or not any(key(a) in saved for a in argv[1:] if not a.startswith("-")):
        return set()
    if name in ("tar", "bsdtar", "gtar"):
        first = argv[1] if len(argv) > 1 else ""
        if not ("x" in first and not first.startswith("--") or "--extract" in argv or "-x" in argv):
            return set()
        folder = option_value(argv, "-C", "--directory")
    elif name.startswith("7z"):
        folder = next((a[2:] for a in argv if a.startswith("-o") and len(a) > 2), None)
    else:
        folder = option_value(argv, "-d")
    return {key(folder) if folder else "."}


def _runs_unpacked(command: SimpleCommand, roots: set[str]) -> bool:
    """It runs a file by a relative path inside a folder an archive was unpacked into."""
    argv = command.argv
    if not argv or "/" not in argv[0] and not _runs_scripts(command):
        return False  # a program found on PATH (make, npm), not one from the archive
    for path in executed(command):
        if path.startswith(("/", "~", "$")) and not any(path.startswith(r + "/") for r in roots):
            continue
        if "." in roots or any(path.startswith(r + "/") for r in roots):
            return True
    return False


def _runs_scripts(command: SimpleCommand) -> bool:
    """A shell, interpreter or ``source``: what it runs is its operand, not itself."""
    name = command.name
    return shell_like(command) or name in INTERPRETERS or name.startswith("python") or name in ("source", ".")


def _moved(command: SimpleCommand, saved: set[str]) -> set[str]:
    """Where ``mv``/``cp``/``install`` put a downloaded file, or what ``gunzip`` made of it."""
    name, argv = command.name, command.argv
    operands = [a for a in argv[1:] if not a.startswith("-")]
    if name in _DECOMPRESSORS or name in ("gzip", "xz", "bzip2", "zstd") and "-d" in argv:
        ext = _DECOMPRESSORS.get(name, "." + {"gzip": "gz", "xz": "xz", "bzip2": "bz2", "zstd": "zst"}.get(name, ""))
        return {key(a).removesuffix(ext) for a in operands if key(a) in saved}
    if name not in ("mv", "cp", "install", "ln") or len(operands) < 2:
        return set()
    sources = [key(a) for a in operands[:-1] if key(a) in saved]
    target = key(operands[-1])
    return {target} | {f"{target}/{s.rpartition('/')[2]}" for s in sources} if sources else set()


_NETWORK = lazy(
    r"urllib|urlopen|urlretrieve|requests\.(get|post)|http\.client|httpx|\bfetch\(|https?\.get|LWP|open-uri|Net::HTTP"
    r"|Invoke-WebRequest|\biwr\b|DownloadString|WebClient|socket\.create_connection|require\(['\"]https?['\"]\)"
    r"|(?:file_get_contents|fopen|readLines|url|getURL|GET)\s*\(\s*['\"]https?://"
)
# Code that runs a URL directly: R's source("https://..."), PHP's include "https://...".
_REMOTE_SOURCE = lazy(
    r"""\b(?:source|source_url|source_gist|include|include_once|require|require_once|import)\s*\(?\s*"""
    r"""(?:file\s*=\s*|url\s*\(\s*)?['"]https?://"""
)
_EXECUTE = lazy(
    r"\bexec\b|\beval\b|os\.system|subprocess|__import__|child_process|\bspawn|execSync|Function\(|\bsystem\("
    r"|\biex\b|Invoke-Expression|compile\(|eval\(parse\("
)
_PY_OR_PS = lazy(r"^(python3?(\.\d+)?|powershell)$")
_INLINE_FLAGS = frozenset({"-c", "-e", "-E", "--eval", "-p", "--print", "-r", "-Command", "-command"})


@rule("RF-RCE-004", Severity.CRITICAL, "Inline code that fetches from the network and executes what it gets.")
def inline_fetch_exec(command: SimpleCommand) -> str | None:
    name = command.name
    if name not in INTERPRETERS and not (name.startswith(("python", "powershell")) and _PY_OR_PS.match(name)):
        return None
    argv = command.argv
    code = inline_code(command) or " ".join(argv[i + 1] for i, a in enumerate(argv[:-1]) if a in _INLINE_FLAGS)
    if code and (_NETWORK.search(code) and _EXECUTE.search(code) or _REMOTE_SOURCE.search(code)):
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
        # more build, test and project tools of the npm registry
        "tsup",
        "ng",
        "parcel",
        "babel",
        "@babel/cli",
        "stylelint",
        "biome",
        "sass",
        "standard",
        "mocha",
        "cypress",
        "karma",
        "nodemon",
        "knex",
        "sequelize-cli",
        "typeorm",
        "drizzle-kit",
        "license-checker",
        "jscodeshift",
        "sort-package-json",
        "markdown-link-check",
        "markdownlint-cli",
        "markdownlint-cli2",
        "jscpd",
        "c8",
        "nyc",
        "ava",
        "lerna",
        "semantic-release",
        "node-gyp",
        "electron",
        "electron-builder",
        "expo",
        "react-native",
        "firebase-tools",
        "@nestjs/cli",
        "@vue/cli",
        "vue-tsc",
        "svelte-check",
        "degit",
        "concurrently",
        "cross-env",
        "dotenv-cli",
        "wait-on",
        "kill-port",
        "depcheck",
        "madge",
        "knip",
        "size-limit",
        "publint",
        "typedoc",
        "jsdoc",
        "json-server",
        "live-server",
        "pm2",
        "patch-package",
        "syncpack",
        "oxlint",
        "dprint",
        "@redocly/cli",
        "openapi-typescript",
        "@graphql-codegen/cli",
        "create-astro",
        "create-remix",
        "create-t3-app",
        "create-nx-workspace",
        "create-docusaurus",
        # Python tools run through uvx / pipx run
        "httpie",
        "cookiecutter",
        "copier",
        "poetry",
        "hatch",
        "pdm",
        "twine",
        "build",
        "pip-tools",
        "pip-audit",
        "pip-licenses",
        "pipdeptree",
        "bandit",
        "pylint",
        "pyupgrade",
        "autoflake",
        "codespell",
        "mkdocs",
        "commitizen",
        "semgrep",
        "sqlfluff",
        "yamllint",
        "vulture",
        "deptry",
        "nbqa",
        "coverage",
        "pydocstyle",
        "docformatter",
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
    i = 0
    while i < len(rest):  # the runner's own options come before the package
        arg = rest[i]
        if arg in ("-p", "--package", "--from", "--spec"):
            return _strip_version(rest[i + 1]) if i + 1 < len(rest) else None
        if arg.startswith(("--package=", "--from=", "--spec=")):
            return _strip_version(arg.partition("=")[2])
        if arg in _RUNNER_VALUED:
            i += 2
            continue
        if arg != "--" and not arg.startswith("-"):
            return _strip_version(arg)
        i += 1
    return None


_RUNNER_VALUED = frozenset(
    {"-c", "--call", "--with", "-w", "--python", "--registry", "--index", "--index-url", "--node-options", "--cache"}
)


def _strip_version(spec: str) -> str:
    if spec.startswith("@"):
        scope, _, rest = spec[1:].partition("/")
        return "@" + scope + "/" + rest.partition("@")[0] if rest else spec
    return re.split(r"[@=<>~]", spec, maxsplit=1)[0]


# --- code the language fetches itself: deno run URL ---------------------------------------

_DENO_VALUED = frozenset(
    {"-c", "--config", "--import-map", "--lock", "--cert", "--location", "--seed", "-n", "--name", "--root", "-L"}
)
_DENO_ALL = ("-A", "--allow-all", "--allow-run", "--allow-ffi")


def _deno_url(command: SimpleCommand) -> tuple[bool, bool]:
    """(it runs a script from a URL, with every permission or the right to run programs)."""
    argv = command.argv
    if command.name != "deno" or len(argv) < 3 or argv[1] not in ("run", "install", "x", "compile"):
        return False, False
    i = 2
    while i < len(argv):
        arg = argv[i]
        if arg in _DENO_VALUED:
            i += 2
            continue
        if not arg.startswith("-"):
            remote = arg.startswith(("https://", "http://"))
            powers = any(a == p or a.startswith(p + "=") for a in argv[2:i] for p in _DENO_ALL)
            return remote, remote and powers
        i += 1
    return False, False


@rule(
    "RF-RCE-007",
    Severity.CRITICAL,
    "deno runs a script from a URL with every permission (-A, --allow-all, --allow-run).",
    names=("deno",),
)
def deno_url_all(command: SimpleCommand) -> str | None:
    if _deno_url(command)[1]:
        return "`deno` runs a script from a URL with the right to do anything on this machine."
    return None


@rule("RF-RCE-008", Severity.HIGH, "deno runs a script from a URL.", names=("deno",))
def deno_url(command: SimpleCommand) -> str | None:
    remote, powers = _deno_url(command)
    if remote and not powers:
        return "`deno` downloads a script from a URL and runs it."
    return None


# --- go run / go install of a module nobody vetted -----------------------------------------

# Module paths of the Go project, Google, Kubernetes, HashiCorp, Uber and the makers of the
# Go developer tools in everyday use (linters, debuggers, code generators, migrators).
_GO_KNOWN = lazy(
    r"^(?:golang\.org/x/|google\.golang\.org/|honnef\.co/go/|mvdan\.cc/|gotest\.tools/|go\.uber\.org/|k8s\.io/"
    r"|sigs\.k8s\.io/|cloud\.google\.com/go|gopkg\.in/|gocloud\.dev/|entgo\.io/|go\.opentelemetry\.io/"
    r"|github\.com/(?:golang|google|golangci|go-delve|bufbuild|grpc|grpc-ecosystem|protocolbuffers|kubernetes"
    r"|kubernetes-sigs|hashicorp|goreleaser|spf13|uber-go|securego|air-verse|cosmtrek|swaggo|sqlc-dev|pressly"
    r"|golang-migrate|go-task|magefile|vektra|99designs|oapi-codegen|deepmap|a-h|mgechev|client9|jstemmer"
    r"|gotestyourself|charmbracelet|cli|aws|Azure|GoogleCloudPlatform|open-telemetry|prometheus|grafana"
    r"|docker|moby|containerd|sigstore|anchore|aquasecurity|segmentio|fatih|go-critic|daixiang0|incu6us"
    r"|onsi|ent|cweill|mattn|junegunn|jesseduffield|nektos|cilium|traefik|caddyserver|gohugoio|minio"
    r"|tailscale|temporalio|dagger|evilmartians|golang-standards|kyleconroy|volatiletech|stretchr|rubenv"
    r"|amacneil|bombsimon|mfridman|josharian|dominikh|derailed|cosmos|ethereum|twitchtv|envoyproxy|bazelbuild"
    r")/)"
)
_GO_VALUED = frozenset({"-C", "-o", "-p", "-tags", "-ldflags", "-gcflags", "-asmflags", "-mod", "-modfile", "-exec"})


@rule(
    "RF-RCE-009",
    Severity.HIGH,
    "go run / go install of a module@version from outside the Go project and well-known tool makers.",
    names=("go",),
)
def go_remote_module(command: SimpleCommand) -> str | None:
    argv = command.argv
    if len(argv) < 3 or argv[1] not in ("run", "install"):
        return None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if arg in _GO_VALUED:
            i += 2
            continue
        i += 1
        if arg == "--":
            break
        if arg.startswith("-") or "@" not in arg:
            continue
        module = arg.partition("@")[0]
        if "." in module.partition("/")[0] and not _GO_KNOWN.match(module):
            return f"`go {argv[1]}` downloads and runs a module from outside the Go project and well-known tool makers."
    return None


# --- kubectl apply -f https://... ---------------------------------------------------------------


@rule(
    "RF-RCE-010",
    Severity.HIGH,
    "kubectl apply/create/replace of manifests fetched from a URL.",
    names=("kubectl", "oc", "kubecolor"),
)
def kubectl_remote(command: SimpleCommand) -> str | None:
    argv = command.argv
    if not {"apply", "create", "replace"} & set(argv[1:4]) or any(
        a.startswith("--dry-run") and a != "--dry-run=none" for a in argv
    ):
        return None
    for i, arg in enumerate(argv[1:], start=1):
        value = ""
        if arg in ("-f", "--filename", "-k", "--kustomize") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(("--filename=", "--kustomize=", "-f=")):
            value = arg.partition("=")[2]
        elif arg.startswith("-f") and len(arg) > 2 and not arg.startswith("-f="):
            value = arg[2:]
        if value.startswith(("https://", "http://", "github.com/")):
            return f"`{command.name}` applies manifests fetched from a URL, which can run any container in the cluster."
    return None


# --- git clone, then run a script from the clone ------------------------------------------------

_CLONE_VALUED = frozenset(
    {
        "-b",
        "--branch",
        "--depth",
        "-o",
        "--origin",
        "-c",
        "--config",
        "--reference",
        "--separate-git-dir",
        "--filter",
        "-j",
        "--jobs",
        "--template",
        "-u",
        "--upload-pack",
        "--shallow-since",
        "--shallow-exclude",
    }
)


@parsed_rule("RF-RCE-011", Severity.HIGH, "Clones a git repository and runs a script from it in the same command.")
def clone_then_run(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    clones: set[str] = set()
    inside = False  # the working directory is a fresh clone (after `cd CLONE`)
    for index, command in enumerate(parsed.commands):
        argv = command.argv
        if command.name == "git" and "clone" in argv[1:4]:
            folder = _clone_folder(argv)
            if folder:
                clones.add(folder)
            continue
        if not clones or not argv:
            continue
        if command.name in ("cd", "pushd"):
            target = key(argv[1]) if len(argv) > 1 else "~"
            inside = any(target == c or target.startswith(c + "/") for c in clones)
            continue
        if "/" not in argv[0] and not _runs_scripts(command):
            continue  # make, npm...: a program found on PATH
        for path in executed(command):
            within = any(path.startswith(c + "/") for c in clones)
            if within or inside and not path.startswith(("/", "~", "$")):
                shown = safe(command.name, "a program")
                yield index, f"It runs a script from a repository it has just cloned (`{shown}`), unreviewed."
                break


def _clone_folder(argv: tuple[str, ...]) -> str | None:
    operands: list[str] = []
    i = argv.index("clone") + 1
    while i < len(argv):
        arg = argv[i]
        if arg in _CLONE_VALUED:
            i += 2
            continue
        if arg == "--":
            operands.extend(argv[i + 1 :])
            break
        if not arg.startswith("-"):
            operands.append(arg)
        i += 1
    if not operands:
        return None
    if len(operands) > 1:
        return key(operands[1])
    name = operands[0].rstrip("/").rpartition("/")[2].rpartition(":")[2]
    return key(name.removesuffix(".git")) or None


# --- containers of images nobody vetted -------------------------------------------------------------

# Docker Hub namespaces of vendors whose images are the official way to run their tools
# (the AWS and Google Cloud CLIs, Bitnami, HashiCorp...), and registries run by the
# platform makers. A bare name (``node:20``, ``library/postgres``) is a Docker official
# image, or one built here.
_VENDORS = frozenset(
    {
        "amazon",
        "google",
        "bitnami",
        "hashicorp",
        "grafana",
        "prom",
        "localstack",
        "circleci",
        "cimg",
        "docker",
        "gitlab",
        "jenkins",
        "confluentinc",
        "minio",
        "mongodb",
        "redis",
        "nginxinc",
        "envoyproxy",
        "istio",
        "jaegertracing",
        "otel",
        "openpolicyagent",
        "selenium",
        "cypress",
        "mcr",
        "elastic",
        "aquasec",
        "anchore",
        "sonarsource",
        "pulumi",
        "microsoft",
    }
)
_TRUSTED_REGISTRIES = frozenset({"mcr.microsoft.com", "registry.k8s.io", "k8s.gcr.io", "docker.elastic.co"})
_DOCKER_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_RUN_VALUED = frozenset("aceghlmpuvw")  # docker run's short options that take a value (-h: hostname)
_RUN_FLAGS = frozenset(
    {
        "--rm",
        "--detach",
        "--interactive",
        "--tty",
        "--privileged",
        "--init",
        "--read-only",
        "--publish-all",
        "--quiet",
        "--no-healthcheck",
        "--oom-kill-disable",
        "--disable-content-trust",
        "--help",
    }
)


def well_known_image(reference: str) -> bool:
    """A Docker official image (``node:20``, ``library/redis``), a local build, an image of a
    well-known vendor (``_VENDORS``) or of a platform maker's registry (``mcr.microsoft.com``,
    ``registry.k8s.io``, ``gcr.io/distroless``, ``public.ecr.aws/docker/library``)."""
    name = reference.partition("@")[0]
    if name.rfind(":") > name.rfind("/"):
        name = name[: name.rfind(":")]
    parts = name.split("/")
    if len(parts) == 1:
        return True
    host = parts[0] if "." in parts[0] or ":" in parts[0] or parts[0] == "localhost" else ""
    path = parts[1:] if host else parts
    if host in _TRUSTED_REGISTRIES or host.startswith(("localhost", "127.0.0.1")):
        return True
    if host == "gcr.io" and path[0] == "distroless" or host == "public.ecr.aws" and path[0] in ("docker", "lambda"):
        return True
    if not host or host in _DOCKER_HUB:
        return path[0] == "library" or len(path) == 2 and path[0] in _VENDORS
    return False


def _container(command: SimpleCommand) -> tuple[str, list[str], list[str]] | None:
    """(image, host paths mounted, host-level options) of ``docker run``/``create``."""
    argv = command.argv
    if command.name not in ("docker", "podman", "nerdctl"):
        return None
    verb = next((i for i, a in enumerate(argv[1:4], start=1) if a in ("run", "create")), 0)
    if not verb or argv[1:verb] not in ((), ("container",)):
        return None
    mounts: list[str] = []
    powers: list[str] = []
    i = verb + 1
    while i < len(argv):
        arg = argv[i]
        name, equals, value = arg.partition("=")
        if arg.startswith("--") and not equals and arg not in _RUN_FLAGS:
            value, name = (argv[i + 1] if i + 1 < len(argv) else ""), arg
            i += 1
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            letter = arg[-1]
            name = "-" + letter
            if letter in _RUN_VALUED:
                value = argv[i + 1] if i + 1 < len(argv) else ""
                i += 1
            name, value = ("-v", value) if letter == "v" else (name, value)
        elif not arg.startswith("-"):
            return arg, mounts, powers
        i += 1
        if name in ("-v", "--volume"):
            mounts.append(value.split(":")[0])
        elif name == "--mount":
            fields = dict(f.partition("=")[::2] for f in value.split(","))
            mounts.append(fields.get("source") or fields.get("src") or "")
        elif name in ("--network", "--net") and value == "host" or name == "--pid" and value == "host":
            powers.append(f"{name} host")
        elif name == "--restart" and value in ("always", "unless-stopped"):
            powers.append(f"--restart {value}")
        elif name == "--privileged":
            powers.append("--privileged")
    return None


_HOST_SYSTEM = ("/etc", "/root", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/sys", "/dev")
_HOST_MORE = ("/run", "/var/run", "/var/lib/docker", "/home", "/Users", "/System", "/Library", "/private")


def _exposed(source: str) -> str | None:
    """What a mount of ``source`` hands the container: "your home folder", "the docker socket"..."""
    if not source:
        return None
    if "docker.sock" in source:
        return "the docker socket (root on this machine)"
    if "SSH_AUTH_SOCK" in source:
        return "your SSH agent"
    path = normal(source)
    if path == "~":
        return "your home folder"
    if path == "/":
        return "the host's whole filesystem"
    found = secret(path)
    if found:
        return found
    if path in ("~/.docker", "~/.config", "~/.local/share"):
        return "your tool and login settings"
    if any(path == top or path.startswith(top + "/") for top in _HOST_SYSTEM + _HOST_MORE):
        return "system folders of this machine"
    return None


@rule(
    "RF-RCE-012",
    Severity.CRITICAL,
    "A container of an image from an unknown publisher given your home, secrets, the docker socket or system folders.",
    names=("docker", "podman", "nerdctl"),
)
def unknown_image_mounts(command: SimpleCommand) -> str | None:
    found = _container(command)
    if found is None or well_known_image(found[0]):
        return None
    for source in found[1]:
        what = _exposed(source)
        if what:
            return f"`{command.name}` runs an image from an unknown publisher with {what} mounted into it."
    return None


@rule(
    "RF-RCE-013",
    Severity.HIGH,
    "A container of an image from an unknown publisher run with --network host, --privileged or to restart always.",
    names=("docker", "podman", "nerdctl"),
)
def unknown_image_powers(command: SimpleCommand) -> str | None:
    found = _container(command)
    if found is None or not found[2] or well_known_image(found[0]):
        return None
    return f"`{command.name}` runs an image from an unknown publisher with {found[2][0]}."


# --- typo-squatted and malicious package names ------------------------------------------------

_PYTHONS = frozenset({"python", "python3"} | {f"python3.{minor}" for minor in range(6, 15)})
_INSTALLERS = frozenset({"pip", "pip3", "pipx", "uv", "poetry", "pdm", "npm", "pnpm", "yarn", "bun"}) | _PYTHONS
_RUNNER_NAMES = frozenset({"npx", "pnpx", "bunx", "uvx"})
_PIP_VALUED = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-t",
        "--target",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--prefix",
        "--root",
        "--src",
        "--upgrade-strategy",
        "--python-version",
        "--platform",
        "--implementation",
        "--abi",
        "--only-binary",
        "--no-binary",
        "--progress-bar",
        "--report",
        "--trusted-host",
        "--log",
        "--cache-dir",
        "--python",
        "-p",
        "--group",
        "-G",
        "--optional",
        "--extra",
        "--index",
        "--default-index",
        "--with",
        "--suffix",
    }
)
_NPM_VALUED = frozenset(
    {"--workspace", "--prefix", "--registry", "--tag", "--save-prefix", "-C", "--dir", "--filter", "-F", "--cwd"}
)
_SPEC_END = lazy(r"[\[<>=!~;@ ]")


def _requested(command: SimpleCommand) -> tuple[str, str, list[str]] | None:
    """(tool, registry, package names) a command installs or runs by name."""
    name, argv = command.name, command.argv
    words = argv[1:]
    if name in _PYTHONS:
        if argv[1:3] != ("-m", "pip") or "install" not in argv[3:5]:
            return None
        return "pip", "pypi", _names(argv[argv.index("install") + 1 :], _PIP_VALUED, "pypi")
    if name in ("pip", "pip3") and "install" in words[:2]:
        return name, "pypi", _names(argv[argv.index("install") + 1 :], _PIP_VALUED, "pypi")
    if name == "uv" and words[:2] == ("pip", "install"):
        return "uv", "pypi", _names(argv[3:], _PIP_VALUED, "pypi")
    if name == "uv" and words[:1] == ("add",) or name in ("poetry", "pdm") and words[:1] == ("add",):
        return name, "pypi", _names(argv[2:], _PIP_VALUED, "pypi")
    if name == "pipx" and words[:1] == ("install",) or name == "uv" and words[:2] == ("tool", "install"):
        return name, "pypi", _names(argv[argv.index("install") + 1 :], _PIP_VALUED, "pypi")
    if name in ("npm", "pnpm", "yarn", "bun") and words[:1] and words[0] in ("install", "i", "add"):
        valued = _NPM_VALUED | ({"-w"} if name == "npm" else set())
        return name, "npm", _names(argv[2:], valued, "npm")
    package = _runner_package(command)
    if package is not None:
        registry = "pypi" if name == "uvx" or name == "pipx" else "npm"
        return name, registry, [package]
    return None


def _names(words: tuple[str, ...], valued: frozenset[str] | set[str], registry: str) -> list[str]:
    found: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in valued:
            skip = True
            continue
        if word.startswith(("-", ".", "~", "$")) or "/" in word:
            continue
        if registry == "npm":
            if word.startswith("@") or ":" in word:
                continue  # scoped (checked by the registry's owners), or a git/file/alias spec
            found.append(word.partition("@")[0])
        else:
            match = _SPEC_END.search(word)
            name = word[: match.start()] if match else word
            if name and not name.endswith((".whl", ".zip", ".gz")):
                found.append(name)
    return found


@rule(
    "RF-RCE-014",
    Severity.HIGH,
    "Installs or runs a package whose name is a typo of a popular one, or was reported as malicious.",
    names=_INSTALLERS | _RUNNER_NAMES,
)
def typosquat(command: SimpleCommand) -> str | None:
    requested = _requested(command)
    if requested is None or not requested[2]:
        return None
    from ringfence.analysis.risk._packages import lookalike

    tool, registry, packages = requested
    for package in packages:
        why = lookalike(package, registry)
        if why is not None:
            return f"`{tool}` fetches {safe(package, 'a package')}, {why}."
    return None


# --- package sources and installs without signatures ------------------------------------------

_UNSIGNED_SOURCE = lazy(
    r"\bdeb(?:-src)?\s+\[[^\]]*\b(?:trusted|allow-insecure|allow-weak)=yes\b[^\]]*\]\s*(?:https?|ftp)://"
)


@parsed_rule(
    "RF-RCE-015",
    Severity.CRITICAL,
    "Adds an apt source whose signatures are not checked (deb [trusted=yes] http://...).",
)
def unsigned_source(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    source = parsed.source
    if "=yes" in source and "deb" in source and _UNSIGNED_SOURCE.search(source):
        yield -1, "It adds a package source whose packages install as root with no signature check."


_UNSIGNED_FLAGS = frozenset({"--allow-unauthenticated", "--nogpgcheck", "--no-gpg-checks", "--nosignature"})
_UNSIGNED_OPTIONS = lazy(
    r"(?:AllowUnauthenticated|AllowInsecureRepositories|AllowDowngradeToInsecureRepositories)=(?:1|true|yes)"
)


@rule(
    "RF-RCE-016",
    Severity.HIGH,
    "Installs packages with signature checks off (--allow-unauthenticated, --nogpgcheck).",
    names=("apt", "apt-get", "aptitude", "dnf", "yum", "zypper", "rpm", "microdnf"),
)
def unsigned_install(command: SimpleCommand) -> str | None:
    argv = command.argv
    if _UNSIGNED_FLAGS & set(argv) or any("Allow" in a and _UNSIGNED_OPTIONS.search(a) for a in argv):
        return f"`{command.name}` installs packages without checking their signatures."
    return None
