#!/usr/bin/env python3
"""Classify shell commands with the command-safety logic of the real Codex CLI (peer adapter).

Reads JSON Lines on stdin, one {"cmd": "..."} per line, and writes one JSON line per input,
in input order:

    {"cmd": "...", "decision": "allow"|"ask"|"deny", "detail": "..."}

How it reaches Codex's logic (see bench/peers/README.md for the full story): the Codex CLI has
no command that evaluates its built-in command-safety heuristics on a given command line, so
this runs the real, unmodified Codex binary from the npm package against a stand-in model: a
small Responses-API server on 127.0.0.1 in this process. The stand-in "model" answers every
request with `exec_command` tool calls, one per corpus command, exactly as a real model asks
Codex to run a shell command. Codex then applies its own approval pipeline to each call (bash
parsing, exec-policy rules, the built-in dangerous-command check, the approval policy) and
either asks the user, rejects the call, or runs it. What it did comes back to the stand-in
model as the call's output in the next request, which is where this adapter reads it.

Nothing from the corpus is executed: Codex runs inside a bubblewrap mount namespace where the
shells (`bash`, `dash`/`sh`, `zsh`, `rbash`) are replaced by `/usr/bin/echo`, so a call that
Codex lets through only echoes its own argv ("-lc <command>") back, which is also the proof
that Codex ran it. The namespace's root is read-only apart from a private /tmp and the
throwaway CODEX_HOME and workspace (under /var/tmp, removed afterwards).

Options:
  --policy on-request   (default) Codex's default interactive setting: approval policy
                        `on-request` with the `workspace-write` sandbox, through
                        `codex app-server` (the JSON-RPC interface Codex's IDE clients use).
                        A command for which Codex raises an approval request -> ask (the
                        adapter answers "decline"); a command it runs without asking, inside
                        its sandbox -> allow; one it rejects outright -> deny.
  --policy never        headless `codex exec` (approval policy `never`, its default sandbox):
                        a command Codex rejects -> deny; one it runs -> allow.
  --batch N             tool calls per stand-in model response (default 100)
  --chunk N             commands per Codex process (default 500; keeps the conversation well
                        below the context window, so no automatic compaction kicks in)
  --jobs N              Codex processes at once (default 2)
  --codex PATH          the codex binary (default: found under $RINGFENCE_PEERS_DIR/codex,
                        as bench/peers/install.sh installs it)
  --raw                 add Codex's raw tool output to each line ("codex_output")

Exit status: 0 when every command got a verdict from Codex, 1 when some did not (those lines
say "decision": "error"), 2 on a setup problem.
"""

from __future__ import annotations

import argparse
import glob
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = "/usr/bin/echo"
SHELLS = ["/usr/bin/bash", "/usr/bin/dash", "/usr/bin/zsh", "/usr/bin/rbash"]
PROMPT = "Run each of the commands you are given; this is a policy check."
CALL_PREFIX = "rf-"


def default_peers_dir() -> str:
    env = os.environ.get("RINGFENCE_PEERS_DIR")
    if env:
        return env
    if os.geteuid() == 0:
        return "/var/cache/ringfence-bench-peers"
    return os.path.join(os.path.dirname(HERE), ".cache", "peers")


def find_codex(explicit: str | None) -> str:
    if explicit:
        return explicit
    base = os.path.join(default_peers_dir(), "codex", "node_modules", "@openai")
    hits = sorted(glob.glob(os.path.join(base, "codex-linux-*", "vendor", "*", "bin", "codex")))
    hits += sorted(glob.glob(os.path.join(base, "codex", "vendor", "*", "bin", "codex")))
    if not hits:
        sys.exit(f"codex_safety: no codex binary under {base}; run bench/peers/install.sh first")
    return hits[0]


# ---------------------------------------------------------------------------------------------
# the stand-in model: a Responses-API server that turns the corpus into exec_command calls


class Chunk:
    """One `codex exec` run: a slice of the corpus and what Codex said about each command."""

    def __init__(self, cid: str, items: list[tuple[int, str]], batch: int):
        self.cid = cid
        self.items = items  # (global index, command)
        self.batch = batch
        self.next = 0
        self.outputs: dict[int, str] = {}
        self.requests = 0
        self.lock = threading.Lock()

    def respond(self, body: dict) -> list[dict]:
        with self.lock:
            self.requests += 1
            for item in body.get("input", []):
                if item.get("type") != "function_call_output":
                    continue
                call_id = str(item.get("call_id", ""))
                if not call_id.startswith(CALL_PREFIX):
                    continue
                out = item.get("output")
                if not isinstance(out, str):  # structured content: join its text parts
                    out = json.dumps(out)
                self.outputs.setdefault(int(call_id[len(CALL_PREFIX):]), out)
            rid = f"resp-{self.cid}-{self.requests}"
            events: list[dict] = [{"type": "response.created", "response": {"id": rid}}]
            if self.next < len(self.items):
                for idx, cmd in self.items[self.next:self.next + self.batch]:
                    events.append({
                        "type": "response.output_item.done",
                        "item": {"type": "function_call", "call_id": f"{CALL_PREFIX}{idx}",
                                 "name": "exec_command",
                                 "arguments": json.dumps({"cmd": cmd})},
                    })
                self.next += self.batch
            else:
                events.append({
                    "type": "response.output_item.done",
                    "item": {"type": "message", "role": "assistant", "id": f"msg-{rid}",
                             "content": [{"type": "output_text", "text": "done"}]},
                })
            events.append({"type": "response.completed", "response": {
                "id": rid, "usage": {"input_tokens": 0, "input_tokens_details": None,
                                     "output_tokens": 0, "output_tokens_details": None,
                                     "total_tokens": 0}}})
            return events


class StandInModel(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.chunks: dict[str, Chunk] = {}
        self.unexpected: list[str] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInModel

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, ctype: str, data: bytes):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self) -> tuple[Chunk | None, str]:
        parts = self.path.split("/", 2)  # "", cid, rest
        if len(parts) < 3:
            return None, self.path
        return self.server.chunks.get(parts[1]), "/" + parts[2]

    def do_GET(self):
        chunk, rest = self._chunk()
        if chunk is not None and rest.startswith("/v1/models"):
            self._send(200, "application/json", b'{"models": []}')
            return
        self.server.unexpected.append(f"GET {self.path}")
        self._send(404, "application/json", b"{}")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        chunk, rest = self._chunk()
        if chunk is None or rest.split("?")[0] != "/v1/responses":
            self.server.unexpected.append(f"POST {self.path}")
            self._send(404, "application/json", b"{}")
            return
        if self.headers.get("content-encoding", "") == "zstd":
            self.server.unexpected.append("zstd-compressed request body")
            self._send(400, "application/json", b"{}")
            return
        events = chunk.respond(json.loads(raw))
        data = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
        self._send(200, "text/event-stream", data)


# ---------------------------------------------------------------------------------------------
# running codex


def codex_version(codex: str) -> str:
    try:
        out = subprocess.run([codex, "--version"], check=False, capture_output=True, text=True, timeout=30,
                             env={**os.environ, "HOME": tempfile.gettempdir()})
        return out.stdout.strip().split()[-1]
    except Exception:  # noqa: BLE001 - only for the detail line
        return "?"


def _prepare(chunk: Chunk, port: int) -> tuple[str, list[str], dict[str, str], str]:
    """A throwaway CODEX_HOME and workspace, and the bwrap prefix that runs Codex in them."""
    # not under /tmp: Codex refuses to set up its sandbox helper under a temporary folder
    work = tempfile.mkdtemp(prefix="rf-codex-peer-", dir="/var/tmp")
    home = os.path.join(work, "home")
    codex_home = os.path.join(home, ".codex")
    ws = os.path.join(work, "ws")
    os.makedirs(codex_home)
    os.makedirs(ws)
    with open(os.path.join(codex_home, "config.toml"), "w") as f:
        f.write(
            'model = "stand-in"\n'
            'model_provider = "standin"\n'
            # no automatic compaction, no update check against the real service
            "model_context_window = 1000000000\n"
            "model_auto_compact_token_limit = 1000000000\n"
            "check_for_update_on_startup = false\n"
            "[model_providers.standin]\n"
            'name = "standin"\n'
            f'base_url = "http://127.0.0.1:{port}/{chunk.cid}/v1"\n'
            'wire_api = "responses"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )
    bwrap = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--tmpfs", "/tmp", "--bind", work, work, "--die-with-parent", "--chdir", ws]
    for sh in SHELLS:
        if os.path.exists(sh):
            bwrap += ["--ro-bind", STUB, sh]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "CODEX_HOME": codex_home,
           "LANG": "C.UTF-8", "TMPDIR": "/tmp", "RUST_LOG": "error", "SHELL": "/bin/bash"}
    return work, bwrap, env, ws


def run_exec(codex: str, port: int, chunk: Chunk, timeout: float) -> str:
    """Policy `never`: headless `codex exec`, which runs with approval policy `never` (a
    command Codex flags is rejected and reported back to the model; nobody is asked) and its
    default sandbox. Returns a problem description, or "" when all went well."""
    work, bwrap, env, ws = _prepare(chunk, port)
    try:
        argv = bwrap + ["--", codex, "exec", "--json", "--skip-git-repo-check", "--ephemeral",
                        "-C", ws, PROMPT]
        proc = subprocess.run(argv, check=False, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or len(chunk.outputs) < len(chunk.items):
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            return f"codex exec exited {proc.returncode}: " + " | ".join(tail)
        return ""
    except subprocess.TimeoutExpired:
        return f"codex exec timed out after {timeout:.0f} s"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_app_server(codex: str, port: int, chunk: Chunk, timeout: float) -> str:
    """Policy `on-request`: `codex app-server` (the JSON-RPC interface Codex's IDE clients
    use), a thread with approval policy `on-request` and the `workspace-write` sandbox, as the
    interactive CLI starts by default. Every approval request Codex raises is answered
    "decline", so the command is not run and the call's output says "rejected by user".
    Returns a problem description, or "" when all went well."""
    work, bwrap, env, ws = _prepare(chunk, port)
    proc = subprocess.Popen(bwrap + ["--", codex, "app-server"], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    stderr_tail: list[str] = []

    def drain_stderr():
        for line in proc.stderr:
            stderr_tail.append(line.rstrip())
            del stderr_tail[:-5]

    threading.Thread(target=drain_stderr, daemon=True).start()

    def send(msg: dict):
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    problem = ""
    try:
        send({"id": 1, "method": "initialize",
              "params": {"clientInfo": {"name": "ringfence-bench-peer", "version": "1"}}})
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            method, mid = msg.get("method"), msg.get("id")
            if method is None:  # a response to one of our requests
                if "error" in msg:
                    problem = f"app-server answered request {mid} with {msg['error']}"
                    break
                if mid == 1:
                    send({"method": "initialized"})
                    send({"id": 2, "method": "thread/start",
                          "params": {"approvalPolicy": "on-request",
                                     "sandbox": "workspace-write", "cwd": ws,
                                     "ephemeral": True}})
                elif mid == 2:
                    send({"id": 3, "method": "turn/start",
                          "params": {"threadId": msg["result"]["thread"]["id"],
                                     "input": [{"type": "text", "text": PROMPT}]}})
            elif mid is not None:  # a request from the server: an approval, presumably
                if method.endswith("requestApproval"):
                    send({"id": mid, "result": {"decision": "decline"}})
                elif method in ("execCommandApproval", "applyPatchApproval"):
                    send({"id": mid, "result": {"decision": "denied"}})
                else:
                    send({"id": mid, "error": {"code": -32601, "message": "not supported"}})
            elif method == "turn/completed":
                break
        else:
            problem = "app-server exited early"
        if not problem and len(chunk.outputs) < len(chunk.items):
            problem = "turn ended before every call had an output"
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    if problem and stderr_tail:
        problem += ": " + " | ".join(stderr_tail)
    return problem


_REJECTED = re.compile(r"rejected: (.*?)(?:\\+\"|\"\)|$)", re.DOTALL)
_STUB_MARKER = re.compile(r"Output:\n-l?c ", re.DOTALL)
_RAN = re.compile(r"^Process (exited with code -?\d+|running with session ID)", re.MULTILINE)


_DECLINED = 'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }'


def verdict(output: str | None, policy: str) -> tuple[str, str]:
    """Map Codex's tool output for one call to (decision, detail). The prefix decides: the
    rest of the text can quote the command, which may contain anything."""
    if output is None:
        return "error", "no tool output from codex for this call"
    if output.strip() == _DECLINED:
        return "ask", ("codex asks the user before running it (approval policy on-request; "
                       "the adapter declined)")
    if output.startswith("exec_command failed"):
        m = _REJECTED.search(output)
        reason = m.group(1).strip() if m else output.strip()[:200]
        return "deny", f"codex rejects it without asking (approval policy {policy}): {reason}"
    head = "\n".join(output.splitlines()[:4])
    if output.startswith("Chunk ID:") and _RAN.search(head):
        # normally followed by the echo stub's "-lc <command>"; once in 2,500 calls that
        # output was lost on the way back, but Codex did start the process all the same
        where = ("inside its workspace-write sandbox" if policy == "on-request"
                 else "inside its default sandbox")
        note = "" if _STUB_MARKER.search(output) else " (no output captured)"
        return "allow", f"codex runs it without asking, {where} (approval policy {policy}){note}"
    return "error", "unrecognised codex tool output: " + output.strip()[:300]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", choices=["on-request", "never"], default="on-request")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--codex")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per codex process")
    ap.add_argument("--raw", action="store_true")
    args = ap.parse_args()

    if not shutil.which("bwrap"):
        print("codex_safety: bubblewrap (bwrap) is required: apt-get install bubblewrap",
              file=sys.stderr)
        return 2
    codex = find_codex(args.codex)
    if not os.access(codex, os.X_OK):
        print(f"codex_safety: {codex} is not executable", file=sys.stderr)
        return 2

    cmds: list[str] = []
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            cmds.append(json.loads(line)["cmd"])
        except (ValueError, KeyError, TypeError):
            print(f"codex_safety: line {n}: expected {{\"cmd\": ...}}", file=sys.stderr)
            return 2
    if not cmds:
        return 0

    version = codex_version(codex)
    server = StandInModel()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    chunks = []
    for start in range(0, len(cmds), args.chunk):
        cid = f"c{len(chunks)}"
        items = [(i, cmds[i]) for i in range(start, min(start + args.chunk, len(cmds)))]
        chunks.append(Chunk(cid, items, args.batch))
        server.chunks[cid] = chunks[-1]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        run = run_app_server if args.policy == "on-request" else run_exec
        problems = list(pool.map(lambda c: run(codex, port, c, args.timeout), chunks))
    elapsed = time.monotonic() - started
    server.shutdown()

    failed = 0
    for chunk, problem in zip(chunks, problems):
        for idx, cmd in chunk.items:
            out = chunk.outputs.get(idx)
            decision, detail = verdict(out, args.policy)
            if decision == "error":
                failed += 1
                if problem:
                    detail += f" ({problem})"
            rec = {"cmd": cmd, "decision": decision, "detail": f"codex {version}: {detail}"}
            if args.raw:
                rec["codex_output"] = out
            sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()
    print(f"codex_safety: {len(cmds)} commands, codex {version}, policy {args.policy}, "
          f"{len(chunks)} codex process(es), {elapsed:.1f} s "
          f"({len(cmds) / elapsed if elapsed else 0:.0f} commands/s), {failed} without verdict",
          file=sys.stderr)
    if server.unexpected:
        print("codex_safety: unexpected requests to the stand-in model: "
              + ", ".join(sorted(set(server.unexpected))[:10]), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
