"""`ringfence scan PATH` as a process: exit codes, the JSON contract, SARIF 2.1.0, the
table, --out; and never a secret in any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "Zq8" + "rT2vLw9XkP4s"
DATABASE_URL = "postgres://app:" + PASSWORD + "@db.internal:5432/app"


def _ringfence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ringfence", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "settings.py").write_text(f'import os\nDATABASE_URL = "{DATABASE_URL}"\n')
    (root / ".env").write_text(f"DB_PASSWORD={PASSWORD}\n")
    (root / "README.md").write_text("# a project\n")
    return root


def test_a_clean_folder_exits_0(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('hello')\n")
    proc = _ringfence("scan", "--json", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"findings": [], "files_scanned": 1}


def test_findings_exit_1_with_the_json_contract(workspace: Path) -> None:
    proc = _ringfence("scan", "--json", ".", cwd=workspace)
    assert proc.returncode == 1, proc.stderr
    answer = json.loads(proc.stdout)
    assert set(answer) == {"findings", "files_scanned"} and answer["files_scanned"] == 3
    for finding in answer["findings"]:
        assert set(finding) == {"rule", "kind", "file", "line", "fingerprint"}
        assert finding["kind"] in ("file", "content")
        assert (finding["line"] is None) == (finding["kind"] == "file")
    where = {(f["kind"], f["file"], f["line"]) for f in answer["findings"]}
    assert {("file", ".env", None), ("content", "config/settings.py", 2)} <= where
    assert PASSWORD not in proc.stdout + proc.stderr


def test_sarif_2_1_0(workspace: Path) -> None:
    proc = _ringfence("scan", "--sarif", str(workspace), cwd=workspace)
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "ringfence"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.resolve().as_uri() + "/"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error" and result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert len(result["partialFingerprints"]["ringfence/v1"]) == 16
    lines = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")) for r in run["results"]}
    assert {(".env", None), ("config/settings.py", 2)} <= lines
    assert PASSWORD not in proc.stdout


def test_the_table_names_rule_file_line_and_the_next_step(workspace: Path) -> None:
    proc = _ringfence("scan", cwd=workspace)
    assert proc.returncode == 1, proc.stderr
    assert "config/settings.py:2" in proc.stdout and ".env " in proc.stdout
    assert "3 files scanned" in proc.stdout and "ringfence:allow" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr


def test_out_writes_the_report_to_a_file(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    proc = _ringfence("scan", "--json", "--out", str(out), ".", cwd=workspace)
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads(out.read_text())["files_scanned"] == 3


def test_exclude_from_the_command_line(workspace: Path) -> None:
    proc = _ringfence("scan", "--json", "--exclude", "config/", ".", cwd=workspace)
    files = {f["file"] for f in json.loads(proc.stdout)["findings"]}
    assert "config/settings.py" not in files and ".env" in files


@pytest.mark.parametrize("args", [["scan", "missing-folder"], ["scan", "--json", "--sarif", "."], ["scan", "--nope"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    proc = _ringfence(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr
