"""pytest fixtures for the real servers of tests/support: import them into a conftest with

    from tests.support.fixtures import *  # noqa: F403 - pytest finds fixtures by module attribute

Each server starts on port 0 before the test and stops after it. `test_pki` is made once per
session in a folder under /tmp that every account can read (the CA file must be readable by
the sandboxed agent and by ringfence's proxy when the suite runs unprivileged); the keys in it
are 0600, readable only by the test runner.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .forward_proxy import ForwardProxy
from .gitserver import GitServer
from .messages_api import MessagesApi
from .origin import Origin
from .pki import TestPki, make_test_pki

__all__ = ["fixture_container_image", "fixture_container_rootfs", "fixture_docker_cli", "fixture_forward_proxy", "fixture_git_https_server", "fixture_http_origin", "fixture_https_origin",
           "fixture_https_origin2", "fixture_messages_api", "fixture_test_pki"]


@pytest.fixture(name="test_pki", scope="session")
def fixture_test_pki() -> Iterator[TestPki]:
    """A test CA and a server certificate for localhost, 127.0.0.1-3 and ::1."""
    folder = Path(tempfile.mkdtemp(prefix="rf-pki-", dir="/tmp"))
    os.chmod(folder, 0o755)
    yield make_test_pki(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="https_origin")
def fixture_https_origin(test_pki: TestPki) -> Iterator[Origin]:
    """An origin over TLS on 127.0.0.1 (see origin.py for its routes)."""
    with Origin(test_pki) as origin:
        yield origin


@pytest.fixture(name="https_origin2")
def fixture_https_origin2(test_pki: TestPki) -> Iterator[Origin]:
    """A second, distinct host: an origin over TLS on 127.0.0.2."""
    with Origin(test_pki, bind="127.0.0.2") as origin:
        yield origin


@pytest.fixture(name="http_origin")
def fixture_http_origin() -> Iterator[Origin]:
    """An origin over plain HTTP on 127.0.0.1."""
    with Origin() as origin:
        yield origin


@pytest.fixture(name="git_https_server")
def fixture_git_https_server(test_pki: TestPki) -> Iterator[GitServer]:
    """`git http-backend` over TLS; only `server.authorization` (Bearer DEFAULT_TOKEN) gets in."""
    with GitServer(test_pki) as server:
        yield server


@pytest.fixture(name="messages_api")
def fixture_messages_api(test_pki: TestPki) -> Iterator[MessagesApi]:
    """The Messages API stand-in over TLS; only `api.api_key` gets an answer."""
    with MessagesApi(test_pki) as api:
        yield api


@pytest.fixture(name="forward_proxy")
def fixture_forward_proxy() -> Iterator[ForwardProxy]:
    """A recording forward proxy on 127.0.0.1 (CONNECT and absolute-form, loopback only)."""
    with ForwardProxy() as proxy:
        yield proxy


ROOTFS = Path(os.environ.get("RINGFENCE_TEST_ROOTFS", "/var/cache/ringfence-test-rootfs"))


@pytest.fixture(name="container_rootfs", scope="session")
def fixture_container_rootfs() -> Path:
    """A Debian root file system for containers (minbase + python3), made once with
    debootstrap from the apt mirror and kept in /var/cache; podman and runc to run it."""
    import subprocess

    if os.geteuid() != 0 or shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.skip("needs root with podman and runc (make test installs them)")
    if not (ROOTFS / "usr/bin/python3").exists():
        if shutil.which("debootstrap") is None:
            pytest.skip("needs debootstrap to make the containers' root file system")
        partial = ROOTFS.with_name(ROOTFS.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm", str(partial),
                        "http://deb.debian.org/debian"], check=True, capture_output=True, timeout=900)
        partial.rename(ROOTFS)
    return ROOTFS


IMAGE = "localhost/ringfence-test-rootfs:latest"


@pytest.fixture(name="container_image", scope="session")
def fixture_container_image(container_rootfs: Path) -> str:
    """The root file system as a local image (``podman import``, once): what ``[container]
    image`` names, for the docker backend (docker has no --rootfs)."""
    import subprocess

    if subprocess.run(["podman", "image", "exists", IMAGE]).returncode != 0:
        tar = subprocess.Popen(["tar", "-C", str(container_rootfs), "--exclude=./tmp/*", "-c", "."],
                               stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "-", IMAGE], stdin=tar.stdout, check=True, capture_output=True,
                       timeout=600)
        tar.wait()
    return IMAGE


@pytest.fixture(name="docker_cli")
def fixture_docker_cli(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``docker`` is podman with runc: podman implements the docker
    command line, so the docker backend's exact argv runs for real (there is no Docker Engine
    here). Only the engine differs; every flag, mount and the bridge are the docker plan's."""
    folder = tmp_path / "docker-cli"
    folder.mkdir()
    shim = folder / "docker"
    shim.write_text(f'#!/bin/sh\nexec {shutil.which("podman")} --runtime {shutil.which("runc")} "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
