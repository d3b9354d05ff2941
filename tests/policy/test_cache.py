"""The parse cache of policy files: used when the file is unchanged, ignored otherwise."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ringfence.policy import cache
from ringfence.policy.load import read_layer


def test_unchanged_file_is_read_from_the_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    policy = tmp_path / "ringfence.toml"
    policy.write_text('[network]\nallow = ["pypi.org"]\n')
    folder = str(home / cache.CACHE_FOLDER)
    st = os.stat(policy)
    assert cache.load(str(policy), st, folder) is None
    cache.store(str(policy), st, folder, {"network": {"allow": ["pypi.org"]}})
    assert cache.load(str(policy), st, folder) == {"network": {"allow": ["pypi.org"]}}
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"
    # any change to the file (its ctime moves) misses the cache
    policy.write_text('[network]\nallow = ["example.org"]\n')
    assert cache.load(str(policy), os.stat(policy), folder) is None


def test_corrupt_or_foreign_entries_are_ignored(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("")
    st = os.stat(policy)
    folder = str(tmp_path / "cache")
    cache.store(str(policy), st, folder, {"a": {}})
    entry = next(Path(folder).iterdir())
    entry.write_bytes(b"\x00garbage")
    assert cache.load(str(policy), st, folder) is None
    cache.store(str(policy), st, folder, {"a": {}})
    assert cache.load(str(tmp_path / "other.toml"), st, folder) is None  # another path, same inode key


def test_read_layer_uses_the_cache_and_skips_tomllib(tmp_path: Path) -> None:
    """A second read of an unchanged file does not need the TOML parser."""
    import subprocess

    home = tmp_path / "home"
    home.mkdir()
    policy = tmp_path / "ringfence.toml"
    policy.write_text('[network]\nallow = ["pypi.org"]\n')
    probe = (
        "import sys, pathlib\n"
        "from ringfence.policy.load import read_layer\n"
        f"layer = read_layer(pathlib.Path({str(policy)!r}), pathlib.Path({str(home)!r}))\n"
        "print(layer.values['network']['allow'], 'tomllib' in sys.modules)\n"
    )
    env = dict(os.environ)
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
            for _ in range(2)]
    assert runs[0].stdout.strip() == "['pypi.org'] True"
    assert runs[1].stdout.strip() == "['pypi.org'] False"


def test_bad_toml_is_still_an_error_after_caching(tmp_path: Path) -> None:
    import pytest

    from ringfence.errors import PolicyError

    policy = tmp_path / "ringfence.toml"
    policy.write_text("[network\n")
    for _ in range(2):
        with pytest.raises(PolicyError, match="not valid TOML"):
            read_layer(policy, tmp_path)
