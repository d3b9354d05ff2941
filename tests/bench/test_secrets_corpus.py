"""The planted-credentials workspace (bench/corpus/secrets.py) that bench/scan.py scores the
secret scanners on: its manifest must say truly where every planted secret and every decoy
is, or the benchmark's found/flagged counts mean nothing. No scanner runs here, and nothing is
timed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "secrets.py"
if not CORPUS.is_file():  # the unprivileged boundary run copies only src/ and tests/
    pytest.skip(f"no {CORPUS} in this tree", allow_module_level=True)

_spec = importlib.util.spec_from_file_location("bench_corpus_secrets", CORPUS)
assert _spec is not None and _spec.loader is not None
secrets_corpus = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = secrets_corpus  # dataclasses looks its module up
_spec.loader.exec_module(secrets_corpus)

# What each kind of planted value looks like: a prefix, or a test on the value.
SHAPES = {
    "github-pat": lambda v: v.startswith("ghp_") and secrets_corpus.checksum_ok(v),
    "github-oauth-token": lambda v: v.startswith("gho_") and secrets_corpus.checksum_ok(v),
    "git-credentials": lambda v: v.startswith("ghs_") and secrets_corpus.checksum_ok(v),
    "npm-token": lambda v: v.startswith("npm_") and secrets_corpus.checksum_ok(v),
    "github-fine-grained-pat": lambda v: v.startswith("github_pat_") and len(v) == 93,
    "pypi-token": lambda v: v.startswith("pypi-AgEIcHlwaS5vcmc"),
    "slack-bot-token": lambda v: v.startswith("xoxb-"),
    "slack-webhook": lambda v: v.startswith("https://hooks.slack.com/services/T"),
    "stripe-secret-key": lambda v: v.startswith("sk_live_"),
    "stripe-restricted-key": lambda v: v.startswith("rk_live_"),
    "google-api-key": lambda v: v.startswith("AIza") and len(v) == 39,
    "openai-api-key": lambda v: v.startswith("sk-proj-") and "T3BlbkFJ" in v,
    "anthropic-api-key": lambda v: v.startswith("sk-ant-api03-") and v.endswith("AA"),
    "gitlab-pat": lambda v: v.startswith("glpat-") and len(v) == 26,
    "sendgrid-api-key": lambda v: v.startswith("SG.") and [len(p) for p in v.split(".")] == [2, 22, 43],
    "twilio-api-key": lambda v: v.startswith("SK") and len(v) == 34,
    "vault-token": lambda v: v.startswith("hvs."),
    "huggingface-token": lambda v: v.startswith("hf_") and len(v) == 37,
    "digitalocean-token": lambda v: v.startswith("dop_v1_") and len(v) == 71,
    "jwt": lambda v: v.startswith("eyJ") and v.count(".") == 2,
    "kubeconfig-token": lambda v: v.startswith("eyJ") and v.count(".") == 2,
    "postgres-url": lambda v: v.startswith("postgres://"),
    "mongodb-url": lambda v: v.startswith("mongodb+srv://"),
    "redis-url": lambda v: v.startswith("redis://:"),
    "amqp-url": lambda v: v.startswith("amqp://"),
    "azure-storage-connection-string": lambda v: "AccountKey=" in v,
    "aws-access-key-id": lambda v: v.startswith("AKIA") and len(v) == 20 and "EXAMPLE" not in v,
    "aws-secret-key": lambda v: len(v) == 40 and "EXAMPLE" not in v,
    "gcp-service-account-key": lambda v: v.startswith("-----BEGIN PRIVATE KEY-----"),
    "ssh-private-key": lambda v: v == "-----BEGIN OPENSSH PRIVATE KEY-----",
    "rsa-private-key": lambda v: v == "-----BEGIN RSA PRIVATE KEY-----",
    "shopify-token": lambda v: v.startswith("shpat_"),
    "databricks-token": lambda v: v.startswith("dapi"),
}

Planted = tuple[Path, Any]  # (the root, its Manifest)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    root = tmp_path_factory.mktemp("corpus") / "ws"
    return root, secrets_corpus.plant(root)


def _line(root: Path, rel: str, number: int) -> str:
    return (root / rel).read_text(encoding="utf-8").split("\n")[number - 1]


def test_enough_planted_secrets_and_decoys(planted: Planted) -> None:
    _, manifest = planted
    assert len(manifest.planted) >= 34
    assert len(manifest.decoys) >= 8
    assert len({i.type for i in manifest.planted}) >= 30, "many kinds, not one kind many times"
    places = {(i.file, i.line) for i in manifest.planted}
    assert len(places) == len(manifest.planted), "two planted items on one line"
    assert not places & {(d.file, d.line) for d in manifest.decoys}


def test_every_planted_line_holds_its_secret(planted: Planted) -> None:
    root, manifest = planted
    for item in manifest.planted:
        assert (root / item.file).is_file(), item
        if item.kind == "content":
            assert item.text in _line(root, item.file, item.line), item
        else:
            assert item.line is None and item.kind == "file"
            assert (root / item.file).read_text(encoding="utf-8").startswith(item.text), item
        shape = SHAPES.get(item.type, lambda v: len(v) >= 12)  # passwords: long random text
        assert shape(item.text), f"{item.type} does not have its kind's shape: {item.file}:{item.line}"


def test_every_decoy_is_where_the_manifest_says(planted: Planted) -> None:
    root, manifest = planted
    kinds = {d.type for d in manifest.decoys}
    assert {"aws-documented-example", "bad-checksum-github-token", "placeholder", "env-example-empty",
            "lockfile-integrity", "uuid", "certificate-only"} <= kinds
    for decoy in manifest.decoys:
        text = (root / decoy.file).read_text(encoding="utf-8")
        if decoy.line is None:
            assert decoy.text in text, decoy
        else:
            assert decoy.text in _line(root, decoy.file, decoy.line), decoy
    bad = next(d.text for d in manifest.decoys if d.type == "bad-checksum-github-token")
    assert bad.startswith("ghp_") and len(bad) == 40 and not secrets_corpus.checksum_ok(bad)
    assert "PRIVATE KEY" not in (root / "certs/ca.pem").read_text()
    assert all(line.endswith("=") for line in (root / ".env.example").read_text().splitlines()[4:])


def test_the_hard_places_are_there(planted: Planted) -> None:
    root, manifest = planted
    log = next(i for i in manifest.planted if i.file.startswith("logs/"))
    assert (root / log.file).stat().st_size >= 5 * 1024 * 1024
    assert any(i.file.count("/") >= 8 for i in manifest.planted), "one deep in a nested folder"
    for binary in manifest.binaries:
        assert b"\x00" in (root / binary).read_bytes()[:8192]
        assert any(i.file.rsplit("/", 1)[0] == binary.rsplit("/", 1)[0] for i in manifest.planted), binary
    assert any(i.ignored for i in manifest.planted)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_ignored_files_are_ignored_by_git_and_the_rest_committed(planted: Planted) -> None:
    root, manifest = planted
    assert manifest.git
    for item in manifest.planted:
        ignored = subprocess.run(["git", "check-ignore", "-q", item.file], cwd=root, check=False).returncode == 0
        assert ignored == item.ignored, item.file
    tracked = set(subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True)
                  .stdout.split())
    assert {i.file for i in manifest.planted if not i.ignored} <= tracked
    assert not {i.file for i in manifest.planted if i.ignored} & tracked
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    assert status.stdout == ""


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_workspace(planted: Planted, tmp_path: Path) -> None:
    root, manifest = planted
    again = secrets_corpus.plant(tmp_path / "again", git=False)
    assert again.planted == manifest.planted and again.decoys == manifest.decoys
    assert _tree_digest(tmp_path / "again") == _tree_digest(root)
    other = secrets_corpus.plant(tmp_path / "other", seed=manifest.seed + 1, git=False)
    assert [i.text for i in other.planted] != [i.text for i in manifest.planted]


def test_plant_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        secrets_corpus.plant(tmp_path)


def test_the_script_writes_the_manifest_beside_the_workspace(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(CORPUS), str(tmp_path / "ws"), "--no-git"],
                          capture_output=True, text=True, check=True)
    path = Path(done.stdout.strip())
    assert path == (tmp_path / "ws.manifest.json").resolve()
    manifest = secrets_corpus.Manifest.from_json(json.loads(path.read_text()))
    assert len(manifest.planted) >= 34 and not manifest.git
