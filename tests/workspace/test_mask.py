"""Masking: which files are emptied, which rewritten, the masked copies kept by identity,
and the values handed to the leak guard."""

from __future__ import annotations

import os
from pathlib import Path

from ringfence.workspace.scan import scan
from ringfence.workspace.mask import PLACEHOLDER, masked_text, masks_for

PASSWORD = "Zq8" + "rT2vLw9XkP4s"
DATABASE_URL = "postgres://app:" + PASSWORD + "@db.internal:5432/app"


def _workspace(root: Path) -> None:
    (root / "config").mkdir(parents=True)
    (root / ".env").write_text(f"DB_PASSWORD={PASSWORD}\n")
    (root / "config" / "settings.py").write_text(f'DEBUG = True\nDATABASE_URL = "{DATABASE_URL}"\nTIMEOUT = 3\n')
    (root / "README.md").write_text("hello\n")


def test_credential_files_are_emptied_and_other_files_rewritten(tmp_path: Path) -> None:
    _workspace(tmp_path / "ws")
    masks = masks_for(scan(str(tmp_path / "ws")))
    assert masks.empty == (str(tmp_path / "ws" / ".env"),)
    assert masks.rewritten == (str(tmp_path / "ws" / "config" / "settings.py"),)
    assert masks.copies == () and masks.count == 2
    assert {value for _, value in masks.values} == {PASSWORD}
    assert PASSWORD not in repr(masks)


def test_masked_copies_are_made_once_per_identity(tmp_path: Path) -> None:
    ws, copies = tmp_path / "ws", tmp_path / "state" / "masked"
    _workspace(ws)
    first = masks_for(scan(str(ws)), copies=str(copies))
    (copy,) = first.copies
    text = Path(copy).read_text()
    assert PASSWORD not in text
    assert text == f'DEBUG = True\nDATABASE_URL = "postgres://app:{PLACEHOLDER}@db.internal:5432/app"\nTIMEOUT = 3\n'
    made = os.stat(copy)
    again = masks_for(scan(str(ws)), copies=str(copies))
    assert again.copies == first.copies and os.stat(copy).st_ino == made.st_ino  # kept, not made again
    (ws / "config" / "settings.py").write_text(f'DATABASE_URL = "{DATABASE_URL}"\n')
    changed = masks_for(scan(str(ws)), copies=str(copies))
    assert changed.copies != first.copies and not os.path.exists(copy)  # the stale copy is gone
    assert Path(changed.copies[0]).read_text() == f'DATABASE_URL = "postgres://app:{PLACEHOLDER}@db.internal:5432/app"\n'


def test_a_file_changed_since_the_scan_is_masked_as_it_is_now(tmp_path: Path) -> None:
    ws, copies = tmp_path / "ws", tmp_path / "masked"
    _workspace(ws)
    result = scan(str(ws))
    other = "Other" + PASSWORD[::-1] + "9!"
    (ws / "config" / "settings.py").write_text(f'PASSWORD = "{other}"\nDATABASE_URL = "{DATABASE_URL}"\n')
    (copy,) = masks_for(result, copies=str(copies)).copies
    text = Path(copy).read_text()
    assert other not in text and PASSWORD not in text and text.count(PLACEHOLDER) == 2


def test_masked_text_replaces_a_block_over_many_lines_by_one_placeholder() -> None:
    from ringfence.workspace.scan import Secret

    text = "a\nkey: -----BEGIN\nbody\n-----END\nz\n"
    secret = Secret("f", "RF-SECRET-PRIVATE-KEY", 2, 4, 5, 8)
    assert masked_text(text, [secret]) == f"a\nkey: {PLACEHOLDER}\nz\n"
