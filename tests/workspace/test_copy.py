"""`ringfence copy SRC DST`: a sanitized copy, all or nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ringfence.workspace.copy import CopyError, sanitized_copy

PASSWORD = "Zq8" + "rT2vLw9XkP4s"
DATABASE_URL = "postgres://app:" + PASSWORD + "@db.internal:5432/app"


def write(root: Path, relpath: str, text: str, mode: int = 0o644) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    write(src, "app/main.py", "print('hi')\n")
    write(src, "app/run.sh", "#!/bin/sh\necho run\n", 0o755)
    write(src, "config/settings.py", f'DATABASE_URL = "{DATABASE_URL}"\nDEBUG = True\n')
    write(src, ".env", f"DB_PASSWORD={PASSWORD}\n")
    write(src, "deep/nested/.env.production", f"DB_PASSWORD={PASSWORD}\n")
    write(src, "build/out.txt", "artifact\n")
    write(src, "notes.log", "log\n")
    write(src, ".dockerignore", "build\n*.log\n")
    write(src, ".ringfenceignore", "tmp/\n")
    write(src, "tmp/scratch.txt", "scratch\n")
    (src / "link-inside").symlink_to("app/main.py")
    (src / "link-outside").symlink_to(tmp_path)
    return src


def test_the_copy_leaves_out_credentials_and_masks_secrets(source: Path, tmp_path: Path) -> None:
    dst = tmp_path / "copy"
    summary = sanitized_copy(str(source), str(dst))
    assert (dst / "app/main.py").read_text() == "print('hi')\n"
    assert os.stat(dst / "app/run.sh").st_mode & 0o777 == 0o755
    assert os.stat(dst / "app/main.py").st_mtime_ns == os.stat(source / "app/main.py").st_mtime_ns
    assert not (dst / ".env").exists() and not (dst / "deep/nested/.env.production").exists()
    settings = (dst / "config/settings.py").read_text()
    assert PASSWORD not in settings and "RINGFENCE-MASKED" in settings and "DEBUG = True" in settings
    assert summary.masked == ("config/settings.py",)
    assert not (dst / "build").exists() and not (dst / "notes.log").exists()  # .dockerignore, at the root
    assert not (dst / "tmp").exists()  # .ringfenceignore
    assert os.readlink(dst / "link-inside") == "app/main.py"
    assert not (dst / "link-outside").exists() and not (dst / "link-outside").is_symlink()
    left = dict(summary.left_out)
    assert left[".env"] == "a credential file" and "link-outside" in left
    everything = "".join(p.read_text(errors="replace") for p in dst.rglob("*") if p.is_file() and not p.is_symlink())
    assert PASSWORD not in everything


def test_a_negated_pattern_cannot_bring_back_a_credential_file(source: Path, tmp_path: Path) -> None:
    write(source, ".dockerignore", "*\n!.env\n!app\n")
    dst = tmp_path / "copy"
    sanitized_copy(str(source), str(dst))
    assert not (dst / ".env").exists()
    assert (dst / "app/main.py").exists()


@pytest.mark.parametrize("where", ["exists", "inside"])
def test_refused_destinations_leave_nothing_behind(source: Path, tmp_path: Path, where: str) -> None:
    dst = tmp_path / "taken" if where == "exists" else source / "copy"
    if where == "exists":
        dst.mkdir()
    before = sorted(p.name for p in dst.parent.iterdir())
    with pytest.raises(CopyError):
        sanitized_copy(str(source), str(dst))
    assert sorted(p.name for p in dst.parent.iterdir()) == before


def test_the_command_line(source: Path, tmp_path: Path) -> None:
    dst = tmp_path / "copy"
    proc = subprocess.run([sys.executable, "-m", "ringfence", "copy", "--json", str(source), str(dst)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["masked"] == ["config/settings.py"]
    assert {"file": ".env", "why": "a credential file"} in summary["left_out"]
    assert PASSWORD not in proc.stdout + proc.stderr
    again = subprocess.run([sys.executable, "-m", "ringfence", "copy", str(source), str(dst)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr
