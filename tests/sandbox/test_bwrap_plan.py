"""The bubblewrap planner: policy in, mounts/env/argv out (no sandbox is started here)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ringfence.policy import Overrides, load_policy
from ringfence.policy.model import PROTECTED_NAMES
from ringfence.sandbox.bwrap import Identity, bwrap_argv, plan_bwrap
from ringfence.sandbox.plan import MountKind, SandboxPlan
from ringfence.sandbox.runner import gather_view

WHO = Identity(uid=os.getuid(), gid=os.getgid(), home="/home/agent", user="agent")
STRANGER = Identity(uid=4242, gid=4242, home="/home/agent", user="agent")


def make_plan(
    tmp_path: Path, toml: str = "", *, env: dict[str, str] | None = None, who: Identity = WHO, **ov: object
) -> SandboxPlan:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if toml:
        (ws / "ringfence.toml").write_text(toml)
    ov = {k: ([str(p) for p in v] if isinstance(v, list) else v) for k, v in ov.items()}
    policy = load_policy(cwd=ws, home=home, managed=tmp_path / "none.toml", overrides=Overrides(**ov))  # type: ignore[arg-type]
    return plan_bwrap(policy, ["true"], who=who, view=gather_view(policy), caller_env=env or {},
                      cwd=str(ws), homes=(str(home),))


def by_dest(plan: SandboxPlan) -> dict[Path, list[MountKind]]:
    out: dict[Path, list[MountKind]] = {}
    for m in plan.mounts:
        out.setdefault(Path(m.dest), []).append(m.kind)
    return out


def test_base_layout(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    mounts = by_dest(plan)
    assert plan.mounts[0].kind is MountKind.RO_BIND and plan.mounts[0].dest == "/"
    assert mounts[Path("/tmp")] == [MountKind.TMPFS]
    assert mounts[Path("/run")] == [MountKind.TMPFS]
    assert mounts[Path("/dev/shm")] == [MountKind.TMPFS]
    assert MountKind.BIND in mounts[tmp_path / "ws"]
    # the workspace bind comes after /tmp's tmpfs, or it would be hidden by it
    order = [Path(m.dest) for m in plan.mounts]
    assert order.index(Path("/tmp")) < order.index(tmp_path / "ws")
    assert plan.proxy_port == 3128
    assert plan.uid == os.getuid()


def test_host_tmp_writable_only_when_allowed(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, allow_write=[Path("/tmp")])
    assert by_dest(plan)[Path("/tmp")] == [MountKind.BIND]


def test_protected_names_at_root_get_placeholders(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    ws = tmp_path / "ws"
    mounts = by_dest(plan)
    holders = {Path(p.path): p.is_dir for p in plan.placeholders}
    for name in PROTECTED_NAMES:
        assert MountKind.RO_BIND in mounts[ws / name], name
        assert ws / name in holders, name
    assert holders[ws / ".vscode"] is True
    assert holders[ws / ".bashrc"] is False
    # the folders holding protected items are mount points (cannot be renamed away)
    assert mounts[ws / ".git"] == [MountKind.BIND]
    assert mounts[ws / ".claude"] == [MountKind.BIND]
    # the plan made nothing on disk
    assert not (ws / ".bashrc").exists()


def test_protected_names_at_any_depth(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "a/b/.git/hooks").mkdir(parents=True)
    (ws / "a/b/.git/config").write_text("[core]\n")
    (ws / "a/b/.git/modules/sub/hooks").mkdir(parents=True)
    (ws / "c/.envrc").parent.mkdir(parents=True)
    (ws / "c/.envrc").write_text("export X=1\n")
    plan = make_plan(tmp_path)
    mounts = by_dest(plan)
    assert MountKind.RO_BIND in mounts[ws / "a/b/.git/hooks"]
    assert MountKind.RO_BIND in mounts[ws / "a/b/.git/config"]
    assert MountKind.RO_BIND in mounts[ws / "a/b/.git/modules/sub/hooks"]
    assert MountKind.RO_BIND in mounts[ws / "c/.envrc"]
    for anchor in ("a", "a/b", "a/b/.git", "c"):
        assert mounts[ws / anchor] == [MountKind.BIND], anchor
    # a submodule's missing config gets a placeholder too
    assert str(ws / "a/b/.git/modules/sub/config") in {p.path for p in plan.placeholders}


def test_deny_read_dirs_files_and_symlinks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh/id_rsa").write_text("KEY")
    (home / ".netrc").write_text("machine x password y")
    real_aws = tmp_path / "elsewhere-aws"
    real_aws.mkdir()
    (home / ".aws").symlink_to(real_aws)
    plan = make_plan(tmp_path)
    mounts = by_dest(plan)
    assert mounts[home / ".ssh"] == [MountKind.EMPTY_DIR]
    assert mounts[home / ".netrc"] == [MountKind.EMPTY_FILE]
    assert mounts[real_aws] == [MountKind.EMPTY_DIR]  # masked where the link points
    assert home / ".ssh/id_rsa" not in mounts  # covered by its folder's mask


def test_policy_file_is_write_protected(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, '[network]\nallow = ["pypi.org"]\n')
    assert MountKind.RO_BIND in by_dest(plan)[tmp_path / "ws/ringfence.toml"]


def test_deny_write_inside_workspace(tmp_path: Path) -> None:
    (tmp_path / "ws/vendor").mkdir(parents=True)
    plan = make_plan(tmp_path, '[filesystem]\ndeny_write = ["vendor"]\n')
    assert by_dest(plan)[tmp_path / "ws/vendor"] == [MountKind.RO_BIND]


def test_host_sockets_masked_in_sandbox_mode(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(ws / "agent.sock"))
    try:
        none = make_plan(tmp_path)
        assert ws / "agent.sock" not in by_dest(none)  # seccomp refuses AF_UNIX instead
        plan = make_plan(tmp_path, '[network]\nunix_sockets = "sandbox"\n')
        assert by_dest(plan)[ws / "agent.sock"] == [MountKind.EMPTY_FILE]
    finally:
        server.close()


def test_env_passes_only_listed_names(tmp_path: Path) -> None:
    caller = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "HOME": "/root",
              "GITHUB_TOKEN": "ghp_x"}
    plan = make_plan(tmp_path, env=caller)
    assert "AWS_SECRET_ACCESS_KEY" not in plan.env and "GITHUB_TOKEN" not in plan.env
    assert plan.env["HOME"] == "/home/agent"  # the agent's own home, not the caller's
    assert plan.env["LANG"] == "C.UTF-8"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "GRPC_PROXY", "npm_config_proxy", "NODE_USE_ENV_PROXY"):
        assert name in plan.env, name
    assert plan.env["HTTPS_PROXY"] == "http://127.0.0.1:3128"
    assert plan.env["ALL_PROXY"] == "http://127.0.0.1:3128"
    assert plan.env["NO_PROXY"] == "" and plan.env["no_proxy"] == ""
    assert "s3cr3t" not in str(plan.to_json())


def test_no_network_sets_no_proxy(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, no_network=True)
    assert plan.proxy_port is None
    assert "HTTP_PROXY" not in plan.env


def test_argv(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    argv = bwrap_argv(plan, bwrap="/usr/bin/bwrap", runtime="/rt", seccomp_fd=7, info_fd=8)
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--disable-userns",
                 "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--unshare-net" not in argv  # the network namespace is ringfence's own (see netns)
    assert argv[argv.index("--seccomp") + 1] == "7"
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[-2:] == ["--", "true"]
    assert ["--size", str(1 << 30), "--tmpfs", "/tmp"] == argv[argv.index("/tmp") - 3: argv.index("/tmp") + 1]


def test_unreachable_masks_are_skipped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    os.chmod(home, 0o700)  # owned by us, not by uid 4242: the agent cannot look inside
    plan = make_plan(tmp_path, who=STRANGER)
    assert home / ".ssh" not in by_dest(plan)
    assert any("not reachable" in n for n in plan.notes)


def test_plan_paths_are_plain_strings(tmp_path: Path) -> None:
    """The run path does not load pathlib (start-up time): plans hold str paths."""
    plan = make_plan(tmp_path)
    assert all(isinstance(m.dest, str) for m in plan.mounts)
    assert isinstance(plan.workspace, str)
