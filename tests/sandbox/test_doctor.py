"""`ringfence doctor`'s checks: kernel settings (as a table) and the real thing on this machine."""

from __future__ import annotations

import os

import pytest

from ringfence.sandbox import doctor


@pytest.mark.parametrize(
    ("settings", "ok", "fix_mentions"),
    [
        ({}, True, ""),
        ({"/proc/sys/user/max_user_namespaces": "0"}, False, "user.max_user_namespaces"),
        ({"/proc/sys/kernel/unprivileged_userns_clone": "0"}, False, "kernel.unprivileged_userns_clone=1"),
        ({"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, False,
         "kernel.apparmor_restrict_unprivileged_userns=0"),
        ({"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "0"}, True, ""),
    ],
)
def test_userns_settings(settings: dict[str, str], ok: bool, fix_mentions: str) -> None:
    check = doctor.check_userns_settings(read=settings.get)
    assert check.ok is ok
    assert fix_mentions in check.fix
    if not ok:
        assert check.detail


def test_apparmor_message_names_ubuntu() -> None:
    check = doctor.check_userns_settings(read={"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}.get)
    assert "Ubuntu 24.04" in check.detail


@pytest.mark.boundary
def test_real_checks_pass_on_this_machine() -> None:
    checks = {c.name: c for c in doctor.run_checks()}
    for name in ("bubblewrap", "user namespaces", "sandbox", "network namespace", "seccomp", "overlay (--overlay)"):
        assert checks[name].ok, checks[name]
    assert doctor.landlock_abi() >= 1
    assert not checks["overlay (--overlay)"].required  # only `run --overlay` needs it


@pytest.mark.boundary
def test_the_container_backends_are_checked_for_real() -> None:
    """Optional: a missing engine is a warning with its fix, never a failure of `doctor`."""
    import shutil

    checks = {c.name: c for c in doctor.run_checks()}
    podman, gvisor, docker = (checks[n] for n in ("podman (--backend podman)", "gVisor (--backend gvisor)",
                                                   "docker (--backend docker)"))
    assert not (podman.required or gvisor.required or docker.required)
    if shutil.which("podman") and shutil.which("runc"):
        assert podman.ok, podman
        if os.geteuid() != 0:
            assert "--allow-degraded" in podman.detail and "memory limit" in podman.detail
    if shutil.which("runsc"):
        assert gvisor.ok == (os.geteuid() == 0), gvisor
    if not docker.ok:  # no Docker Engine on the machines the tests run on
        assert docker.fix and "--backend podman" in docker.fix
