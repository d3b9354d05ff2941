"""Scanning a real folder: names, contents, ignore files, allow comments, links, binaries,
.git, size limits; and no secret value in any finding or rendering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ringfence.workspace import report
from ringfence.workspace.scan import ScanError, scan

# Fake secrets, built from pieces so this file does not itself read as holding one.
PASSWORD = "Zq8" + "rT2vLw9XkP4s"
DATABASE_URL = "postgres://app:" + PASSWORD + "@db.internal:5432/app"
KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW" + "QyNTUxOQAAACBxK7yHf2J9"
PRIVATE_KEY = "\n".join(["-----BEGIN OPENSSH " + "PRIVATE KEY-----", KEY_BODY, KEY_BODY[::-1],
                         "-----END OPENSSH " + "PRIVATE KEY-----"])


def write(root: Path, relpath: str, text: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def found(root: Path, **kwargs: object) -> set[tuple[str, str, int | None]]:
    return {(f.kind, f.file, f.line) for f in scan(str(root), **kwargs).findings}  # type: ignore[arg-type]


def test_credential_files_by_name_at_any_depth(tmp_path: Path) -> None:
    write(tmp_path, ".env", "DEBUG=1\n")
    write(tmp_path, "services/api/.env", "DEBUG=1\n")
    write(tmp_path, "README.md", "hello\n")
    assert {("file", ".env", None), ("file", "services/api/.env", None)} <= found(tmp_path)
    assert not any(f.file == "README.md" for f in scan(str(tmp_path)).findings)


def test_secrets_by_content_with_their_line(tmp_path: Path) -> None:
    write(tmp_path, "config/settings.py", f'import os\n\nDATABASE_URL = "{DATABASE_URL}"\n')
    write(tmp_path, "notes/deploy.txt", "how to deploy:\n" + PRIVATE_KEY + "\n")
    got = found(tmp_path)
    assert ("content", "config/settings.py", 3) in got
    assert ("content", "notes/deploy.txt", 2) in got


def test_what_gitignore_hides_is_scanned(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", "secrets/\n.env\n")
    write(tmp_path, ".env", f"DATABASE_URL={DATABASE_URL}\n")
    write(tmp_path, "secrets/db.txt", f"url: {DATABASE_URL}\n")
    got = found(tmp_path)
    assert ("file", ".env", None) in got
    assert ("content", "secrets/db.txt", 1) in got


def test_an_allow_comment_allows_that_line_only(tmp_path: Path) -> None:
    write(tmp_path, "a.py", f'URL = "{DATABASE_URL}"  # ringfence:allow\nOTHER = "{DATABASE_URL}"\n')
    result = scan(str(tmp_path))
    assert [(f.file, f.line) for f in result.findings] == [("a.py", 2)]
    assert result.allowed == 1


def test_the_marker_outside_a_comment_allows_nothing(tmp_path: Path) -> None:
    write(tmp_path, "a.py", f'URL = "{DATABASE_URL}ringfence:allow"\n')
    assert scan(str(tmp_path)).allowed == 0


def test_ringfenceignore_leaves_contents_out_but_never_a_credential_file(tmp_path: Path) -> None:
    write(tmp_path, ".ringfenceignore", "fixtures/\n*.sample\n!.env\n")
    write(tmp_path, "fixtures/db.txt", f"{DATABASE_URL}\n")
    write(tmp_path, "fixtures/.env", "X=1\n")
    write(tmp_path, "conf.sample", f"{DATABASE_URL}\n")
    write(tmp_path, "sub/.ringfenceignore", "local.txt\n")
    write(tmp_path, "sub/local.txt", f"{DATABASE_URL}\n")
    write(tmp_path, "local.txt", f"{DATABASE_URL}\n")  # the nested file does not apply above it
    got = found(tmp_path)
    assert ("file", "fixtures/.env", None) in got
    assert not any(file in ("fixtures/db.txt", "conf.sample", "sub/local.txt") for _, file, _ in got)
    assert ("content", "local.txt", 1) in got


def test_exclude_patterns_from_the_caller(tmp_path: Path) -> None:
    write(tmp_path, "vendor/lib/x.txt", f"{DATABASE_URL}\n")
    write(tmp_path, "app.txt", f"{DATABASE_URL}\n")
    assert found(tmp_path, exclude=["vendor/"]) == {("content", "app.txt", 1)}


def test_links_are_never_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "db.txt", f"{DATABASE_URL}\n")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "linked.txt").symlink_to(outside)
    (root / "id_rsa").symlink_to(outside)  # a credential name is reported even as a link
    (root / "into").symlink_to(outside.parent, target_is_directory=True)
    result = scan(str(root))
    assert {(f.kind, f.file) for f in result.findings} == {("file", "id_rsa")}
    assert {file for file, _ in result.skipped} == {"linked.txt", "id_rsa", "into"}
    assert result.files_scanned == 0


def test_binary_files_are_checked_by_name_only(tmp_path: Path) -> None:
    write(tmp_path, "blob.bin", b"\x00\x01" + DATABASE_URL.encode() + b"\n")
    result = scan(str(tmp_path))
    assert result.findings == () and result.files_scanned == 1


def test_git_config_is_scanned_and_the_rest_of_git_is_not(tmp_path: Path) -> None:
    write(tmp_path, ".git/config", f'[remote "origin"]\n\turl = https://bot:{PASSWORD}@git.example.com/r.git\n')
    write(tmp_path, ".git/objects/ab/cdef", f"{DATABASE_URL}\n")
    got = found(tmp_path)
    assert ("content", ".git/config", 2) in got
    assert not any(file.startswith(".git/objects") for _, file, _ in got)


def test_a_large_file_is_scanned_whole_or_listed_as_skipped(tmp_path: Path) -> None:
    write(tmp_path, "big.log", "INFO nothing to see here\n" * 200_000 + f"url={DATABASE_URL}\n")
    assert ("content", "big.log", 200_001) in found(tmp_path)
    result = scan(str(tmp_path), max_bytes=1024)
    assert result.findings == () and result.files_scanned == 0
    assert [file for file, _ in result.skipped] == ["big.log"]


def test_an_unreadable_file_is_listed_not_fatal(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    locked = write(tmp_path, "locked.txt", f"{DATABASE_URL}\n")
    locked.chmod(0)
    result = scan(str(tmp_path))
    assert [file for file, _ in result.skipped] == ["locked.txt"]


@pytest.mark.parametrize("bad", ["missing", "file.txt"])
def test_a_path_that_is_not_a_folder_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    write(tmp_path, "file.txt", "x\n")
    with pytest.raises(ScanError) as caught:
        scan(str(tmp_path / bad))
    assert int(caught.value.exit_code) == 2 and bad in str(caught.value)


def test_fingerprints_are_stable_and_tell_values_apart(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", f"{DATABASE_URL}\n{DATABASE_URL.replace(PASSWORD, PASSWORD[::-1])}\n")
    first, second = scan(str(tmp_path)), scan(str(tmp_path))
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]
    assert len({f.fingerprint for f in first.findings}) == 2


def test_no_rendering_holds_a_secret(tmp_path: Path) -> None:
    write(tmp_path, "config/settings.py", f'DATABASE_URL = "{DATABASE_URL}"\n')
    write(tmp_path, "notes/deploy.txt", PRIVATE_KEY + "\n")
    write(tmp_path, ".env", f"DB_PASSWORD={PASSWORD}\n")
    result = scan(str(tmp_path))
    assert len(result.secrets) >= 2
    rendered = [json.dumps(report.as_json(result)), json.dumps(report.as_sarif(result)), report.table(result),
                repr(result.findings), repr(result.secrets)]
    for text in rendered:
        assert PASSWORD not in text and KEY_BODY not in text


CERTIFICATE = "\n".join(["-----BEGIN CERTIFICATE-----", "MIIBszCCAVmgAwIBAgIUXk" + "Q2Zm9vYmFy", "-----END CERTIFICATE-----"])


def test_a_name_its_content_confirms_is_judged_by_what_it_holds(tmp_path: Path) -> None:
    write(tmp_path, "certs/ca.pem", CERTIFICATE + "\n")
    write(tmp_path, "certs/server.pem", CERTIFICATE + "\n" + PRIVATE_KEY.replace("OPENSSH ", "") + "\n")
    write(tmp_path, ".npmrc", "registry=https://registry.npmjs.org/\n")
    files = {f.file for f in scan(str(tmp_path)).findings if f.kind == "file"}
    assert files == {"certs/server.pem"}


def test_an_unread_confirmable_name_is_a_credential_file(tmp_path: Path) -> None:
    write(tmp_path, "certs/ca.pem", CERTIFICATE + "\n")
    write(tmp_path, ".ringfenceignore", "certs/\n")
    assert ("file", "certs/ca.pem", None) in found(tmp_path)  # excluded: its name alone decides
    assert ("file", "certs/ca.pem", None) not in found(tmp_path / "certs")
    assert ("file", "ca.pem", None) in found(tmp_path / "certs", max_bytes=8)  # too large to read


def test_the_cache_keeps_clean_files_and_never_a_credential_file(tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    write(work, "app.py", "print('hello')\n")
    write(work, "ca.pem", CERTIFICATE + "\n")
    first = scan(str(work), cache=str(state))
    assert first.findings == () and first.files_scanned == 2
    write(work, "ca.pem", CERTIFICATE + "\n" + PRIVATE_KEY.replace("OPENSSH ", "") + "\n")
    second = scan(str(work), cache=str(state))
    assert ("file", "ca.pem") in {(f.kind, f.file) for f in second.findings}
    write(work, "app.py", f"URL = '{DATABASE_URL}'\n")  # same file, new contents: read again
    third = scan(str(work), cache=str(state))
    assert ("content", "app.py") in {(f.kind, f.file) for f in third.findings}


def test_a_cached_file_with_secrets_gives_the_same_findings_and_values(tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    write(work, "config/settings.py", f'import os\n\nDATABASE_URL = "{DATABASE_URL}"\n')
    write(work, "notes/deploy.txt", "how to deploy: é\n" + PRIVATE_KEY + "\n")  # not ASCII: byte offsets differ
    write(work, ".env", f"DB_PASSWORD={PASSWORD}\n")
    first = scan(str(work), cache=str(state))
    second = scan(str(work), cache=str(state))
    assert second.findings == first.findings and len(first.findings) >= 3
    assert [(s.file, s.line, s.start, s.value) for s in second.secrets] == \
        [(s.file, s.line, s.start, s.value) for s in first.secrets]
    cache = next(state.glob("*.cache")).read_bytes()
    assert PASSWORD.encode() not in cache and KEY_BODY.encode() not in cache


def test_a_cache_that_no_longer_matches_the_file_is_not_believed(tmp_path: Path) -> None:
    import marshal

    work, state = tmp_path / "work", tmp_path / "state"
    write(work, "app.py", f'URL = "{DATABASE_URL}"\n')
    expected = scan(str(work), cache=str(state)).findings
    path = next(state.glob("*.cache"))
    known = marshal.loads(path.read_bytes())
    ident, allowed, where, named, named_mark = known["found"]["app.py"]
    rule, line, end_line, start, end, mark, at, until, title, check = where[0]
    known["found"]["app.py"] = (ident, allowed, ((rule, line, end_line, start, end, mark, at + 1, until, title, check),),
                                named, named_mark)  # offsets that no longer land on the value
    path.write_bytes(marshal.dumps(known))
    again = scan(str(work), cache=str(state))
    assert again.findings == expected and again.secrets[0].value == PASSWORD
    path.write_bytes(b"not a cache at all")
    assert scan(str(work), cache=str(state)).findings == expected


def test_a_file_changed_in_place_is_read_again(tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    secret_line = f"A = '{DATABASE_URL}'\n"
    target = write(work, "app.py", "A = '" + "n" * len(DATABASE_URL) + "'\n")
    assert scan(str(work), cache=str(state)).findings == ()
    stamp = target.stat()
    target.write_text(secret_line)
    os.utime(target, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # same size, same mtime: ctime still moves
    assert target.stat().st_size == stamp.st_size
    assert ("content", "app.py", 1) in found(work, cache=str(state))


def test_a_cached_scan_finds_what_a_fresh_scan_finds(tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    for n in range(40):
        write(work, f"pkg{n:02d}/sub/mod.py", f"X = {n}\n")
    write(work, "pkg07/sub/.env", f"DB_PASSWORD={PASSWORD}\n")
    write(work, "pkg31/settings.py", f'URL = "{DATABASE_URL}"\n')
    write(work, "pkg12/.ringfenceignore", "sub/\n")
    write(work, "pkg12/sub/notes.txt", f"{DATABASE_URL}\n")  # excluded: not reported
    os.symlink("/etc/passwd", work / "pkg20" / "out")
    fresh = scan(str(work))
    for _ in range(3):  # filling the cache, then from it
        assert scan(str(work), cache=str(state)) == fresh
    assert {f.file for f in fresh.findings} == {"pkg07/sub/.env", "pkg31/settings.py"}
    quiet = scan(str(work), cache=str(state), list_files=False)
    assert quiet.files == () and quiet.files_scanned == fresh.files_scanned and quiet.findings == fresh.findings


def test_stale_caches_and_masked_copies_go_when_a_new_cache_is_made(tmp_path: Path) -> None:
    """One cache per scanned folder and rules version: those unused for 30 days (a deleted
    workspace, an older ringfence) are removed; one in use is touched, so it stays."""
    import time

    from ringfence.workspace.scan import STALE_AFTER

    cache = tmp_path / "cache"
    used, gone = tmp_path / "used", tmp_path / "gone"
    for folder in (used, gone):
        folder.mkdir()
        (folder / "a.txt").write_text("nothing here\n")
    scan(str(used), cache=str(cache))
    scan(str(gone), cache=str(cache))
    old = time.time() - STALE_AFTER - 86400
    first = sorted(cache.glob("*.cache"))
    assert len(first) == 2
    for path in first:
        os.utime(path, (old, old))
    (cache / "masked" / "0123456789abcdef").mkdir(parents=True)
    (cache / "masked" / "0123456789abcdef" / "copy").write_text("x")
    os.utime(cache / "masked" / "0123456789abcdef", (old, old))
    scan(str(used), cache=str(cache))  # in use: its cache is touched, not rewritten
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "b.txt").write_text("nothing here either\n")
    scan(str(fresh), cache=str(cache))  # a new cache: the stale ones go
    left = sorted(cache.glob("*.cache"))
    assert len(left) == 2 and not (cache / "masked" / "0123456789abcdef").exists()
    assert all(p.stat().st_mtime > old + 86400 for p in left)
