"""The git server: a real `git clone` over HTTPS gets in only with the chosen Authorization."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.gitserver import DEFAULT_TOKEN, README_TEXT, GitServer, basic, bearer, git_env
from tests.support.pki import TestPki


def clone(server: GitServer, pki: TestPki, into: Path, *config: str, url: str | None = None
          ) -> subprocess.CompletedProcess[str]:
    argv = ["git", *(arg for item in config for arg in ("-c", item)), "clone", url or server.repo_url, str(into)]
    return subprocess.run(argv, env=git_env(GIT_SSL_CAINFO=str(pki.ca_pem_path)), capture_output=True,
                          text=True, timeout=60)


def test_clone_with_the_bearer_header(git_https_server: GitServer, test_pki: TestPki, tmp_path: Path) -> None:
    header = f"http.extraHeader=Authorization: Bearer {DEFAULT_TOKEN}"
    result = clone(git_https_server, test_pki, tmp_path / "c", header)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c" / "README").read_text() == README_TEXT
    head = subprocess.run(["git", "-C", str(tmp_path / "c"), "rev-parse", "HEAD"], env=git_env(),
                          capture_output=True, text=True, check=True).stdout.strip()
    assert head == git_https_server.commit
    assert {r.route for r in git_https_server.requests} == {"/repo.git/info/refs", "/repo.git/git-upload-pack"}
    assert all(r.header("authorization") == bearer(DEFAULT_TOKEN) for r in git_https_server.requests)


def test_clone_without_the_header_is_refused(git_https_server: GitServer, test_pki: TestPki, tmp_path: Path) -> None:
    result = clone(git_https_server, test_pki, tmp_path / "c")
    assert result.returncode != 0
    assert "terminal prompts disabled" in result.stderr
    assert not (tmp_path / "c").exists()
    assert [r.route for r in git_https_server.requests] == ["/repo.git/info/refs"]


def test_a_wrong_token_is_refused(git_https_server: GitServer, test_pki: TestPki, tmp_path: Path) -> None:
    result = clone(git_https_server, test_pki, tmp_path / "c", "http.extraHeader=Authorization: Bearer wrong")
    assert result.returncode != 0


def test_basic_credentials_and_a_push(test_pki: TestPki, tmp_path: Path) -> None:
    with GitServer(test_pki, authorization=basic("agent", "s3cret")) as server:
        url = server.repo_url.replace("https://", "https://agent:s3cret@")
        assert clone(server, test_pki, tmp_path / "c", url=url).returncode == 0
        work, env = tmp_path / "c", git_env(GIT_SSL_CAINFO=str(test_pki.ca_pem_path))
        (work / "big").write_bytes(bytes(range(256)) * 4096)
        subprocess.run(["git", "-C", str(work), "add", "big"], env=env, check=True)
        subprocess.run(["git", "-C", str(work), "commit", "-qm", "more"], env=env, check=True)
        # a small post buffer makes git send the pack with a chunked body
        push = subprocess.run(["git", "-C", str(work), "-c", "http.postBuffer=1024", "push", "origin", "main"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert push.returncode == 0, push.stderr
        assert any(r.header("transfer-encoding") == "chunked" for r in server.requests)
