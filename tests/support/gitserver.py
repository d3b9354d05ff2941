"""A git smart-HTTP server: the real `git http-backend` as a CGI, behind an Authorization check.

`GitServer(pki, authorization="Bearer T")` serves one bare repository, `repo.git`, made
fresh in a temporary folder with one commit (README: `README_TEXT`), at
`server.repo_url` (`https://127.0.0.1:PORT/repo.git`). A request whose `Authorization`
header is not exactly `authorization` gets 401 (with `WWW-Authenticate: Basic`, so git
asks its credential helpers, and fails without a terminal), so a clone through the proxy
succeeds only when the proxy injected the credential. Pushes are accepted too.

The CGI follows RFC 3875 and git-http-backend(1): GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL,
PATH_INFO, QUERY_STRING, REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH (left out for a
chunked body: the backend then reads to end of file), REMOTE_USER and every request header
as HTTP_*; `Git-Protocol` reaches it as HTTP_GIT_PROTOCOL and GIT_PROTOCOL (protocol v2).
The request body is streamed to its stdin while its stdout, after the CGI header block
(`Status:` and headers, then an empty line), is streamed back.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import IO

from .httpserver import RecordingHandler, TestServer
from .pki import TestPki

README_TEXT = "hello from the test repository\n"
DEFAULT_TOKEN = "git-test-token-0123456789abcdef"
KEEP_BODY = 1 << 20  # bytes of a request body kept in the record
BACKEND_TIMEOUT = 60.0
GIT_ENV = {  # no user or system configuration, fixed identities and dates: the same commit every time
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "ringfence tests", "GIT_AUTHOR_EMAIL": "tests@ringfence.invalid",
    "GIT_COMMITTER_NAME": "ringfence tests", "GIT_COMMITTER_EMAIL": "tests@ringfence.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def bearer(token: str) -> str:
    """The Authorization value for a bearer token."""
    return f"Bearer {token}"


def basic(user: str, password: str) -> str:
    """The Authorization value for HTTP Basic (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def git_env(**extra: str) -> dict[str, str]:
    """An environment for running git in tests: the caller's PATH, nothing of its config."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.devnull, **GIT_ENV, **extra}


class _GitHandler(RecordingHandler):
    owner: GitServer

    def respond(self) -> None:
        if self.headers.get("Authorization") != self.owner.authorization:
            self.receive()
            self.send_bytes(401, b"authorization required\n", [("WWW-Authenticate", 'Basic realm="ringfence-test"')])
            return
        process = subprocess.Popen(["git", "http-backend"], env=self._cgi_env(), stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=self.owner.log)
        assert process.stdin is not None and process.stdout is not None
        kept: list[bytes] = []
        sizes = [0]
        feeder = threading.Thread(target=self._feed, args=(process.stdin, kept, sizes), daemon=True)
        feeder.start()
        try:
            self._relay_cgi(process.stdout)
        finally:
            feeder.join(BACKEND_TIMEOUT)
            process.wait(BACKEND_TIMEOUT)
            self.record(b"".join(kept)[:KEEP_BODY], sizes[0])

    def _feed(self, stdin: IO[bytes], kept: list[bytes], sizes: list[int]) -> None:
        try:
            for piece in self.iter_body():
                if sizes[0] < KEEP_BODY:
                    kept.append(piece)
                sizes[0] += len(piece)
                stdin.write(piece)
        except (OSError, ValueError):
            pass  # the backend stopped reading, or the client's body was cut: the answer says so
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _cgi_env(self) -> dict[str, str]:
        path, _, query = self.path.partition("?")
        env = git_env(GIT_PROJECT_ROOT=str(self.owner.root), GIT_HTTP_EXPORT_ALL="1",
                      GATEWAY_INTERFACE="CGI/1.1", SERVER_PROTOCOL=self.request_version,
                      REQUEST_METHOD=self.command, PATH_INFO=urllib.parse.unquote(path), QUERY_STRING=query,
                      REMOTE_ADDR=str(self.client_address[0]), REMOTE_USER="tester",
                      CONTENT_TYPE=self.headers.get("Content-Type", ""))
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            env["CONTENT_LENGTH"] = self.headers.get("Content-Length", "0")
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_AUTHORIZATION"):
                env[key] = value
        if "Git-Protocol" in self.headers:
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        return env

    def _relay_cgi(self, stdout: IO[bytes]) -> None:
        status, headers = 200, []
        while (line := stdout.readline().rstrip(b"\r\n")):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name.strip(), value.strip()))
        if any(name.lower() == "content-length" for name, _ in headers):
            self.send_head(status, headers)
            shutil.copyfileobj(stdout, self.wfile)
            return
        self.start_stream(status, headers)
        read = getattr(stdout, "read1", stdout.read)
        while piece := read(1 << 16):
            self.write_chunk(piece)
        self.end_stream()


class GitServer(TestServer):
    """`git http-backend` at `server.url`, serving `repo.git`, for one Authorization value."""

    handler = _GitHandler

    def __init__(self, pki: TestPki | None = None, *, authorization: str = bearer(DEFAULT_TOKEN),
                 bind: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(pki, bind=bind, port=port)
        self.authorization = authorization
        self.root = Path(tempfile.mkdtemp(prefix="rf-git-"))
        self.log = open(self.root / "http-backend.log", "ab")  # noqa: SIM115 - closed in stop()
        self.commit = _make_repo(self.root)

    @property
    def repo_url(self) -> str:
        return f"{self.url}/repo.git"

    def stop(self) -> None:
        super().stop()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _make_repo(root: Path) -> str:
    """A bare `root/repo.git` with one commit of README; returns the commit id."""
    work = root / "work"
    env = git_env()

    def run(*args: str) -> str:
        return subprocess.run(["git", *args], env=env, check=True, capture_output=True, text=True,
                              timeout=60).stdout.strip()

    run("init", "-q", "-b", "main", str(work))
    (work / "README").write_text(README_TEXT)
    run("-C", str(work), "add", "README")
    run("-C", str(work), "commit", "-q", "-m", "the one commit")
    run("clone", "-q", "--bare", str(work), str(root / "repo.git"))
    run("-C", str(root / "repo.git"), "config", "http.receivepack", "true")
    shutil.rmtree(work)
    return run("-C", str(root / "repo.git"), "rev-parse", "HEAD")
