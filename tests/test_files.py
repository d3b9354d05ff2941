"""ringfence._files.write_atomic: whole or absent, the mode set before the name appears."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ringfence._files import write_atomic


@pytest.mark.parametrize("sync_folder", [False, True])
def test_replaces_the_file_whole_with_its_mode(tmp_path: Path, sync_folder: bool) -> None:
    target = tmp_path / "key.pem"
    target.write_text("old")
    write_atomic(str(target), b"new secret", 0o600, sync_folder=sync_folder)
    assert target.read_bytes() == b"new secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]  # no partial file left


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(str(target), "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_link_planted_at_the_partial_name_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched")
    monkeypatch.setattr(os, "urandom", lambda n: b"\0" * n)
    os.symlink(elsewhere, tmp_path / f"out.txt.{'00' * 6}.tmp")
    with pytest.raises(FileExistsError):
        write_atomic(str(tmp_path / "out.txt"), "data")
    assert elsewhere.read_text() == "untouched"
