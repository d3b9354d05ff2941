"""Secret scanning measured (issue 5 §5): ringfence scan side by side with named peers, one run.

Run by bench/scan.sh (which installs the peers); usable on its own:

    python bench/scan.py --peers DIR [--ringfence PATH] [--stdlib /usr/lib/python3.11]
                         [--runs 3] [--budget 20] [--mask-files 10000] [--user USER]
                         [--no-mask-bench] [--out bench-results/scan-STAMP]

1. Quality, on the planted workspace (bench/corpus/secrets.py, planted afresh into a temp
   folder): for each tool, the planted items it found, the decoys it flagged and every other
   finding. A ``content`` item is found when the tool names its file and its exact line; a
   ``file`` item (a private key file) when the tool names the file at all. A decoy is flagged
   when the tool names its file at its line, or names the file without a line (or, for a
   ``file`` decoy, at all). "by name only" counts content items whose file the tool named
   without a line (a credential-file finding) but whose line it did not report: they do not
   count as found. Targets: every planted item found, no decoy flagged.
2. Speed, on the Python standard library folder: CPU time (user + sys of the tool and every
   process it waited for, from ``getrusage(RUSAGE_CHILDREN)`` deltas) per MB (1 MB = 1e6
   bytes of regular files, symbolic links not followed), wall time and findings. Each tool
   runs ``--runs`` times, fewer once its runs have taken ``--budget`` seconds; medians. The
   folder is read once beforehand so every tool meets a warm page cache. Target: CPU per MB
   at most gitleaks'.
3. Masking start-up: ``ringfence run --no-network -- true`` on a generated workspace of
   ``--mask-files`` files (the planted workspace plus filler), masking on against ``--no-mask``,
   after a first, unmeasured run (which fills the scan cache): hyperfine ``-N`` when installed,
   else interleaved runs; medians. Target: masking adds <= 50 ms. Skipped, with the reason in
   the table, unless ``ringfence run --help`` offers ``--no-mask``.

Each tool runs in the scanned folder, given ``.`` (gitleaks' default allowlist skips a folder
whose absolute path looks like a Python library, so ``gitleaks dir /usr/lib/python3.11`` scans
nothing), with its defaults but for what the comparison needs (said in the table's notes):
ringfence ``scan . --json``; gitleaks ``dir`` (files, not git history) with a JSON
report; detect-secrets ``scan --all-files`` (every file, not only git-tracked ones);
trufflehog3 ``--no-history`` (files, not history) with JSON; secretlint ``"**/*"`` with its
recommended preset and ``--format unix``. A tool that is missing or fails is left out, with
the reason. Writes OUT.md (the tables), OUT.json (every figure) and OUT-details.txt (each
tool's misses, decoy flags and other findings) and prints the tables.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1e6
SECRETLINT_RC = {"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]}


def load_corpus() -> Any:
    """bench/corpus/secrets.py, loaded by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_corpus_secrets", ROOT / "bench" / "corpus" / "secrets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while building classes
    spec.loader.exec_module(module)
    return module


# --- tools ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    file: str  # relative to the scanned folder, "/"-separated
    line: int | None
    rule: str


@dataclass
class Tool:
    name: str
    version: str
    # "{out}" is filled in. Every tool runs in the scanned folder and is given ".": gitleaks'
    # default allowlist skips a directory whose absolute path looks like a Python library
    # (/usr/lib/python3.11 is skipped whole, 0 bytes scanned), but not what lies below ".".
    argv: list[str]
    parse: object  # (target: Path, out: Path) -> list[Hit]
    ok: tuple[int, ...] = (0, 1)
    stdout_to_out: bool = False  # the report is the tool's standard output
    note: str = ""


def _rel(target: Path, path: str) -> str:
    full = Path(path) if os.path.isabs(path) else target / path
    return os.path.relpath(full, target).replace(os.sep, "/")


def _line(value: object) -> int | None:
    return int(value) if value not in (None, "", 0, "0") else None


def parse_ringfence(target: Path, out: Path) -> list[Hit]:
    data = json.loads(out.read_text())  # the contract: {"findings": [...], "files_scanned": N}
    return [Hit(_rel(target, f["file"]), f["line"], f["rule"]) for f in data["findings"]]


def parse_gitleaks(target: Path, out: Path) -> list[Hit]:
    data = json.loads(out.read_text() or "[]")
    return [Hit(_rel(target, f["File"]), _line(f.get("StartLine")), f["RuleID"]) for f in data or []]


def parse_detect_secrets(target: Path, out: Path) -> list[Hit]:
    data = json.loads(out.read_text())
    return [Hit(_rel(target, name), _line(s.get("line_number")), s["type"])
            for name, found in data.get("results", {}).items() for s in found]


def parse_trufflehog3(target: Path, out: Path) -> list[Hit]:
    data = json.loads(out.read_text() or "[]")
    return [Hit(_rel(target, f["path"]), _line(f.get("line")), f.get("rule", {}).get("id", "?")) for f in data]


_SECRETLINT_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \[(?P<rule>[^\]]+)\]")


def parse_secretlint(target: Path, out: Path) -> list[Hit]:
    hits = []
    for line in out.read_text(errors="replace").splitlines():
        m = _SECRETLINT_LINE.match(line)
        if m:
            hits.append(Hit(_rel(target, m["file"]), _line(m["line"]), m["rule"]))
    return hits


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return f"? ({exc})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[-1].strip() if text else "?"


def tools(peers: Path, ringfence: str, workdir: Path) -> tuple[list[Tool], list[str]]:
    """The tools that are here, and a note for each one that is not."""
    found: list[Tool] = []
    missing: list[str] = []
    if subprocess.run([ringfence, "scan", "--help"], capture_output=True, check=False).returncode == 0:
        found.append(Tool("ringfence", _version([ringfence, "--version"]),
                          [ringfence, "scan", ".", "--json"], parse_ringfence, stdout_to_out=True,
                          note="`ringfence scan . --json`"))
    else:
        missing.append("ringfence: ringfence scan not available (`ringfence scan --help` fails)")
    gitleaks = peers / "gitleaks" / "gitleaks"
    if os.access(gitleaks, os.X_OK):
        found.append(Tool("gitleaks", _version([str(gitleaks), "version"]),
                          [str(gitleaks), "dir", ".", "--report-format", "json", "--report-path", "{out}",
                           "--no-banner", "--exit-code", "0"], parse_gitleaks,
                          note="`gitleaks dir . --report-format json` (files, not git history); default rules"))
    else:
        missing.append(f"gitleaks: not installed ({gitleaks}; bench/peers/install.sh --only secrets)")
    ds = peers / "detect-secrets" / "bin" / "detect-secrets"
    if os.access(ds, os.X_OK):
        found.append(Tool("detect-secrets", _version([str(ds), "--version"]),
                          [str(ds), "scan", "--all-files", "."], parse_detect_secrets, ok=(0,), stdout_to_out=True,
                          note="`detect-secrets scan --all-files .` (every file, not only git-tracked ones); default plugins and filters"))
    else:
        missing.append(f"detect-secrets: not installed ({ds})")
    th = peers / "trufflehog3" / "bin" / "trufflehog3"
    if os.access(th, os.X_OK):
        found.append(Tool("trufflehog3", _version([str(th), "--version"]),
                          [str(th), "--no-history", "-z", "-f", "JSON", "-o", "{out}", "."], parse_trufflehog3, ok=(0,),
                          note="`trufflehog3 --no-history -f JSON .` (files, not git history); default rules and entropy check"))
    else:
        missing.append(f"trufflehog3: not installed ({th})")
    sl = peers / "secretlint" / "node_modules" / "secretlint" / "bin" / "secretlint.js"
    node = _node(peers)
    if sl.is_file() and node:
        rc = workdir / "secretlintrc.json"
        rc.write_text(json.dumps(SECRETLINT_RC))
        found.append(Tool("secretlint", _version([node, str(sl), "--version"]),
                          [node, str(sl), "--secretlintrc", str(rc), "--format", "unix", "--no-color", "**/*"],
                          parse_secretlint, stdout_to_out=True,
                          note="`secretlint \"**/*\"` with @secretlint/secretlint-rule-preset-recommend; it skips what .gitignore hides (its default since v13)"))
    elif sl.is_file():
        missing.append("secretlint: needs node >= 22 ($DEST/node.path names an older one)")
    else:
        missing.append(f"secretlint: not installed ({sl})")
    return found, missing


def _node(peers: Path) -> str | None:
    try:
        node = (peers / "node.path").read_text().split("node: ", 1)[1].strip()
    except (OSError, IndexError):
        node = shutil.which("node") or ""
    if not node:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.match(r"v(\d+)", out)
    return node if m and int(m[1]) >= 22 else None


@dataclass
class Run:
    hits: list[Hit] = field(default_factory=list)
    cpu: float = 0.0
    wall: float = 0.0
    code: int = 0
    error: str = ""


def run_tool(tool: Tool, target: Path, workdir: Path) -> Run:
    out = workdir / f"{tool.name}.out"
    out.unlink(missing_ok=True)
    argv = [a.replace("{out}", str(out)) for a in tool.argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(out if tool.stdout_to_out else os.devnull, "wb") as stdout:
        done = subprocess.run(argv, cwd=target, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = Run(cpu=cpu, wall=wall, code=done.returncode)
    if done.returncode not in tool.ok:
        run.error = f"exit {done.returncode}: {last_line(done.stderr)}"
        return run
    try:
        run.hits = tool.parse(target, out)  # type: ignore[operator]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        run.error = f"exit {done.returncode}, unreadable report ({type(exc).__name__}: {exc}): {last_line(done.stderr)}"
    return run


def last_line(stderr: bytes | str) -> str:
    """What went wrong, for a table cell: the last line a tool wrote (a traceback's exception)."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(nothing on stderr)"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# --- quality ----------------------------------------------------------------------------


def score(manifest: Any, hits: list[Hit]) -> dict:
    lines: dict[str, set[int | None]] = {}
    for h in hits:
        lines.setdefault(h.file, set()).add(h.line)
    found, by_name, missed, flagged = [], [], [], []
    claimed: set[tuple[str, int | None]] = set()  # findings that are about a planted item or a decoy
    for item in manifest.planted:
        got = lines.get(item.file, set())
        hit = bool(got) if item.kind == "file" else item.line in got
        (found if hit else missed).append(item)
        if not hit and None in got:
            by_name.append(item)
        claimed |= {(item.file, line) for line in got} if item.kind == "file" else {(item.file, item.line), (item.file, None)}
    for decoy in manifest.decoys:
        got = lines.get(decoy.file, set())
        mine = got if decoy.kind == "file" else got & {decoy.line, None}
        if mine:
            flagged.append(decoy)
        claimed |= {(decoy.file, line) for line in mine}
    other = sorted({(h.file, h.line or 0, h.rule) for h in hits if (h.file, h.line) not in claimed})
    return {"found": found, "missed": missed, "by_name_only": by_name, "decoys_flagged": flagged, "other": other}


def quality(manifest: Any, tool_list: list[Tool], target: Path, workdir: Path) -> dict:
    out = {}
    for tool in tool_list:
        run = run_tool(tool, target, workdir)
        entry = {"cpu_s": run.cpu, "wall_s": run.wall, "exit": run.code, "error": run.error, "findings": len(run.hits)}
        if not run.error:
            s = score(manifest, run.hits)
            entry.update({
                "found": len(s["found"]), "missed": [_item(i) for i in s["missed"]],
                "found_items": [_item(i) for i in s["found"]],
                "by_name_only": len(s["by_name_only"]),
                "decoys_flagged": [_item(i) for i in s["decoys_flagged"]],
                "other": [{"file": f, "line": ln or None, "rule": r} for f, ln, r in s["other"]],
            })
        out[tool.name] = entry
        say(f"planted: {tool.name}: " + (entry["error"] or f"{entry['found']}/{len(manifest.planted)} found, "
                                          f"{len(entry['decoys_flagged'])}/{len(manifest.decoys)} decoys flagged"))
    return out


def _public(manifest: Any) -> dict:
    """The manifest without the planted values: reports name where a secret is, never what."""
    data = manifest.to_json()
    for key in ("planted", "decoys"):
        data[key] = [{k: v for k, v in i.items() if k != "text"} for i in data[key]]
    return {**data, "root": "(temp)"}


def _item(i: Any) -> dict:
    return {"file": i.file, "line": i.line, "kind": i.kind, "type": i.type}


# --- speed ------------------------------------------------------------------------------


def folder_bytes(top: Path) -> tuple[int, int]:
    """(regular files, their bytes) below ``top``, symbolic links not followed."""
    files = size = 0
    for path, st in _regular_files(top):
        files += 1
        size += st.st_size
    return files, size


def text_bytes(top: Path) -> int:
    """Bytes in files with no NUL byte in their first 8 KiB: what a scanner reads as text."""
    total = 0
    for path, st in _regular_files(top):
        with open(path, "rb") as f:
            total += 0 if b"\0" in f.read(8192) else st.st_size
    return total


def _regular_files(top: Path) -> list[tuple[str, os.stat_result]]:
    out = []
    for dirpath, _, filenames in os.walk(top):
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if st.st_mode & 0o170000 == 0o100000:
                out.append((path, st))
    return out


def warm(top: Path) -> None:
    for dirpath, _, filenames in os.walk(top):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    while f.read(1 << 20):
                        pass


def speed(tool_list: list[Tool], top: Path, workdir: Path, runs: int, budget: float) -> dict:
    files, size = folder_bytes(top)
    warm(top)
    out: dict[str, dict] = {"_folder": {"path": str(top), "files": files, "bytes": size, "text_bytes": text_bytes(top)}}
    for tool in tool_list:
        done: list[Run] = []
        while len(done) < runs and sum(r.wall for r in done) < budget:
            run = run_tool(tool, top, workdir)
            done.append(run)
            if run.error:
                break
        if done[-1].error:
            out[tool.name] = {"error": done[-1].error}
        else:
            cpu = statistics.median(r.cpu for r in done)
            out[tool.name] = {"runs": len(done), "cpu_s": cpu, "cpu_s_per_mb": cpu / (size / MB),
                              "cpu_all": [r.cpu for r in done], "wall_s": statistics.median(r.wall for r in done),
                              "findings": len(done[-1].hits)}
        say(f"stdlib: {tool.name}: {out[tool.name]}")
    base = out.get("gitleaks", {}).get("cpu_s_per_mb")
    for name, entry in out.items():
        if base and "cpu_s_per_mb" in entry and not name.startswith("_"):
            entry["vs_gitleaks"] = entry["cpu_s_per_mb"] / base
    return out


# --- masking start-up (needs `ringfence run` masking) -----------------------------------


def masking_startup(ringfence: str, corpus: Any, files: int, user: str | None, runs: int) -> dict:
    """`ringfence run --no-network -- true` with masking on against `--no-mask` on a workspace
    of ``files`` files, after one unmeasured run that fills the scan cache. Skipped (with the
    reason) until `ringfence run --help` offers `--no-mask`."""
    help_text = subprocess.run([ringfence, "run", "--help"], capture_output=True, text=True, check=False).stdout
    if "--no-mask" not in help_text:
        return {"skipped": "needs `ringfence run` masking (`--no-mask`), not built yet"}
    work = Path(tempfile.mkdtemp(prefix="rfbench-mask."))
    try:
        ws = work / "ws"
        corpus.plant(ws, git=False)
        _fill(ws, files)
        (work / "audit").mkdir(mode=0o700)
        policy = work / "policy.toml"
        policy.write_text(f'[audit]\npath = "{work}/audit/audit.db"\n')
        os.chmod(work, 0o755)
        if user and os.getuid() == 0:
            shutil.chown(ws, user, user)
            for dirpath, dirnames, filenames in os.walk(ws):
                for name in dirnames + filenames:
                    shutil.chown(os.path.join(dirpath, name), user, user)
        base = [ringfence, "run", "--policy", str(policy), "--workspace", str(ws)]
        if user and os.getuid() == 0:
            base += ["--user", user]
        masked = [*base, "--no-network", "--", "true"]
        plain = [*base, "--no-network", "--no-mask", "--", "true"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        first = time.perf_counter()
        done = subprocess.run(masked, cwd=ws, env=env, capture_output=True, text=True, check=False)
        first = time.perf_counter() - first
        if done.returncode != 0:
            return {"error": f"`ringfence run ... --no-network -- true` exit {done.returncode}: {last_line(done.stderr)}"}
        result = _hyperfine(masked, plain, ws, env, runs) or _interleaved(masked, plain, ws, env, runs)
        result.update({"files": folder_bytes(ws)[0], "first_run_s": first,
                       "added_ms": (result["masked_ms"] - result["no_mask_ms"])})
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fill(ws: Path, files: int) -> None:
    """Ordinary small source files until the workspace holds ``files`` regular files."""
    have = folder_bytes(ws)[0]
    for n in range(max(0, files - have)):
        d = ws / "src" / f"pkg{n // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{n % 100:03d}.py").write_text(
            f'"""Module {n}."""\n\n\ndef f{n}(x: int) -> int:\n    return x * {n % 97} + {n}\n' * 8)


def _hyperfine(masked: list[str], plain: list[str], cwd: Path, env: dict, runs: int) -> dict | None:
    if shutil.which("hyperfine") is None:
        return None
    out = cwd.parent / "hyperfine.json"
    cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out),
           "--command-name", "masked", " ".join(map(_q, masked)),
           "--command-name", "no-mask", " ".join(map(_q, plain))]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        say(f"hyperfine failed: {done.stderr.strip()[-300:]}; measuring with interleaved runs")
        return None
    res = {r["command"]: r for r in json.loads(out.read_text())["results"]}
    return {"how": f"hyperfine -N --warmup 3 --runs {runs}", "masked_ms": res["masked"]["median"] * 1e3,
            "no_mask_ms": res["no-mask"]["median"] * 1e3}


def _interleaved(masked: list[str], plain: list[str], cwd: Path, env: dict, runs: int) -> dict:
    times: dict[str, list[float]] = {"masked": [], "no-mask": []}
    for _ in range(runs):
        for name, argv in (("masked", masked), ("no-mask", plain)):
            start = time.perf_counter()
            subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
            times[name].append(time.perf_counter() - start)
    return {"how": f"{runs} interleaved runs each (no hyperfine)",
            "masked_ms": statistics.median(times["masked"]) * 1e3,
            "no_mask_ms": statistics.median(times["no-mask"]) * 1e3}


def _q(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


# --- report -----------------------------------------------------------------------------


def report(result: dict) -> list[str]:
    m = result["manifest"]
    names = list(result["tools"])
    n_planted, n_decoys = len(m["planted"]), len(m["decoys"])
    out = [f"# Secret scanning ({result['when']})", "", f"host: {result['host']}", "",
           "| tool | version | how it was run |", "|---|---|---|"]
    out += [f"| {t} | {v['version']} | {v['note']} |" for t, v in result["tools"].items()]
    out += [f"- not measured: {why}" for why in result["missing"]]
    heading = (f"## Planted workspace ({n_planted} planted secrets, {n_decoys} decoys, {m['files']} files, "
               f"{m['bytes'] / MB:.1f} MB, git: {m['git']}; seed {m['seed']})")
    out += ["", heading, "",
            "| tool | planted found | by name only | decoys flagged | other findings | CPU s | wall s |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        q = result["planted"][name]
        if q["error"]:
            out.append(f"| {name} | failed: {cell(q['error'])} | | | | | |")
            continue
        out.append(f"| {name} | **{q['found']}/{n_planted}** | {q['by_name_only']} | "
                   f"**{len(q['decoys_flagged'])}/{n_decoys}** | {len(q['other'])} | {q['cpu_s']:.2f} | {q['wall_s']:.2f} |")
    ok = [n for n in names if not result["planted"][n]["error"]]
    out += ["", "Planted items (x = found; a file item counts when its file is named at all):", "",
            "| type | file:line | " + " | ".join(ok) + " |", "|---|---|" + "---|" * len(ok)]
    for item in m["planted"]:
        where = f"{item['file']}:{item['line'] if item['line'] else '(file)'}" + (" (git-ignored)" if item["ignored"] else "")
        marks = []
        for n in ok:
            hit = any(_same(f, item) for f in result["planted"][n]["found_items"])
            marks.append("x" if hit else "**miss**")
        out.append(f"| {item['type']} | `{where}` | " + " | ".join(marks) + " |")
    out += ["", "Decoys (flagged = a finding on the decoy's line, or on its file without a line):", "",
            "| decoy | file:line | " + " | ".join(ok) + " |", "|---|---|" + "---|" * len(ok)]
    for d in m["decoys"]:
        marks = ["**flagged**" if any(_same(f, d) for f in result["planted"][n]["decoys_flagged"]) else "-" for n in ok]
        out.append(f"| {d['type']} | `{d['file']}:{d['line'] if d['line'] else '(file)'}` | " + " | ".join(marks) + " |")
    sp = result["stdlib"]
    folder = sp["_folder"]
    heading = (f"## Speed: {folder['path']} ({folder['files']} files, {folder['bytes'] / MB:.1f} MB, of which "
               f"{folder['text_bytes'] / MB:.1f} MB in text files; CPU per MB of all of it)")
    out += ["", heading, "",
            "| tool | runs | CPU s (median) | CPU s/MB | vs gitleaks | wall s | findings |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        e = sp.get(name, {})
        if "error" in e:
            out.append(f"| {name} | failed: {cell(e['error'])} | | | | | |")
            continue
        vs = f"{e['vs_gitleaks']:.2f}x" if "vs_gitleaks" in e else "-"
        out.append(f"| {name} | {e['runs']} | {e['cpu_s']:.2f} | {e['cpu_s_per_mb']:.4f} | {vs} | {e['wall_s']:.2f} | {e['findings']} |")
    mk = result["masking"]
    out += ["", "## Masking start-up", "", "| measure | value |", "|---|---|"]
    if "skipped" in mk or "error" in mk:
        out.append(f"| masking start-up (needs `ringfence run` masking, not built yet) | "
                   f"{'skipped: ' + mk['skipped'] if 'skipped' in mk else 'failed: ' + cell(mk['error'])} |")
    else:
        out += [f"| workspace | {mk['files']} files (first, cache-filling run: {mk['first_run_s'] * 1e3:.0f} ms) |",
                f"| `ringfence run --no-network -- true`, masking on (median) | {mk['masked_ms']:.1f} ms |",
                f"| the same with `--no-mask` (median) | {mk['no_mask_ms']:.1f} ms |",
                f"| **added by masking** | **{mk['added_ms']:+.1f} ms** (target <= 50 ms) |",
                f"| how | {mk['how']} |"]
    return out


def _same(a: dict, b: dict) -> bool:
    return a["file"] == b["file"] and a["line"] == b["line"] and a["type"] == b["type"]


def details(result: dict) -> list[str]:
    lines = []
    for name, q in result["planted"].items():
        lines.append(f"# {name}")
        if q["error"]:
            lines += [f"failed: {q['error']}", ""]
            continue
        lines += [f"missed\t{i['type']}\t{i['file']}:{i['line']}" for i in q["missed"]]
        lines += [f"decoy flagged\t{i['type']}\t{i['file']}:{i['line']}" for i in q["decoys_flagged"]]
        lines += [f"other finding\t{o['rule']}\t{o['file']}:{o['line']}" for o in q["other"]]
        lines.append("")
    return lines


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr)


def host_line() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {platform.system()} {platform.release()}, "
            f"{os.cpu_count()} CPUs ({cpu}), loadavg {' '.join(load)}; Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=Path, required=True, help="where bench/peers/install.sh put the peers")
    parser.add_argument("--ringfence", default=str(ROOT / ".venv" / "bin" / "ringfence"))
    parser.add_argument("--stdlib", type=Path, default=Path("/usr/lib/python3.11"))
    parser.add_argument("--runs", type=int, default=3, help="runs per tool on the stdlib folder (3)")
    parser.add_argument("--budget", type=float, default=20.0, help="no further runs of a tool after this many seconds (20)")
    parser.add_argument("--mask-files", type=int, default=10_000)
    parser.add_argument("--mask-runs", type=int, default=20)
    parser.add_argument("--no-mask-bench", action="store_true", help="leave the masking start-up out")
    parser.add_argument("--user", help="as root: the account `ringfence run --user` runs the agent as")
    parser.add_argument("--out", type=Path, help="write OUT.md, OUT.json, OUT-details.txt")
    args = parser.parse_args()

    corpus = load_corpus()
    with tempfile.TemporaryDirectory(prefix="rfbench-scan.") as tmp:
        work = Path(tmp)
        tool_list, missing = tools(args.peers, args.ringfence, work)
        target = work / "planted"
        manifest = corpus.plant(target)
        warm(target)
        say(f"planted {len(manifest.planted)} secrets and {len(manifest.decoys)} decoys in {target}")
        result = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "host": host_line(),
            "tools": {t.name: {"version": t.version, "note": t.note} for t in tool_list}, "missing": missing,
            "manifest": _public(manifest),
            "planted": quality(manifest, tool_list, target, work),
            "stdlib": speed(tool_list, args.stdlib, work, args.runs, args.budget),
        }
    result["masking"] = ({"skipped": "--no-mask-bench"} if args.no_mask_bench else
                         masking_startup(args.ringfence, corpus, args.mask_files, args.user, args.mask_runs))
    say(f"masking: {result['masking']}")
    lines = report(result)
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{args.out}.md").write_text("\n".join(lines) + "\n")
        Path(f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
        Path(f"{args.out}-details.txt").write_text("\n".join(details(result)) + "\n")
        say(f"wrote {args.out}.md, .json, -details.txt")


if __name__ == "__main__":
    main()
