from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("echo 'nameserver 1.1.1.1' > /etc/resolv.conf", "RF-PERS-001"),
    ("echo '127.0.0.1 x' | sudo tee -a /etc/hosts", "RF-PERS-001"),
    ("sudo cp my.conf /etc/nginx/nginx.conf", "RF-PERS-001"),
    ("sed -i 's/a/b/' /etc/environment", "RF-PERS-001"),
    ("echo 'alias ls=evil' >> ~/.bashrc", "RF-PERS-002"),
    ("echo 'export PATH=/tmp:$PATH' >> $HOME/.profile", "RF-PERS-002"),
    ("cat payload >> ~/.zshrc", "RF-PERS-002"),
    ("cp x.fish ~/.config/fish/conf.d/x.fish", "RF-PERS-002"),
    ("ln -sf /tmp/evil ~/.bash_profile", "RF-PERS-002"),
    ("echo x | sudo tee /etc/profile.d/x.sh", "RF-PERS-002"),
    ("crontab jobs.txt", "RF-PERS-003"),
    ("(crontab -l; echo '* * * * * /tmp/x') | crontab -", "RF-PERS-003"),
    ("echo '* * * * * root /tmp/x' > /etc/cron.d/x", "RF-PERS-003"),
    ("echo /tmp/x | at now + 1 minute", "RF-PERS-003"),
    ("systemctl --user enable evil.service", "RF-PERS-004"),
    ("sudo systemctl enable --now x", "RF-PERS-004"),
    ("cp x.service ~/.config/systemd/user/", "RF-PERS-004"),
    ("launchctl load ~/Library/LaunchAgents/x.plist", "RF-PERS-004"),
    ("cp x.plist ~/Library/LaunchAgents/x.plist", "RF-PERS-004"),
    ("echo 'curl x | sh' > .git/hooks/pre-commit", "RF-PERS-005"),
    ("cp hook .git/hooks/post-checkout", "RF-PERS-005"),
    ("git config core.hooksPath /tmp/hooks", "RF-PERS-005"),
    ("git config --global core.fsmonitor 'sh /tmp/x'", "RF-PERS-005"),
    ("git config core.sshCommand 'ssh -o ProxyCommand=x'", "RF-PERS-005"),
    ("git -c core.fsmonitor='touch /tmp/x' status", "RF-PERS-005"),
    ("git config --global alias.st '!sh /tmp/x'", "RF-PERS-005"),
    ("git config filter.x.clean 'sh /tmp/x'", "RF-PERS-005"),
    ("echo ssh-ed25519 AAAA me >> ~/.ssh/authorized_keys", "RF-PERS-006"),
    ("cat key.pub >> /root/.ssh/authorized_keys", "RF-PERS-006"),
    ("echo 'Host *\n ProxyCommand x' >> ~/.ssh/config", "RF-PERS-006"),
    ("echo 'import os' > .venv/lib/python3.12/site-packages/x.pth", "RF-PERS-007"),
    ("cp evil.py $(python -c 'import site') /sitecustomize.py", "RF-PERS-007"),
    ("echo /tmp/x.so > /etc/ld.so.preload", "RF-PERS-008"),
]

BENIGN = [
    "cat /etc/hosts",
    "grep -r nginx /etc/nginx",
    "cat ~/.bashrc",
    "source ~/.bashrc",
    "echo $PATH",
    "crontab -l",
    "systemctl status nginx",
    "systemctl --user restart app",
    "launchctl list",
    "ls .git/hooks",
    "cat .git/hooks/pre-commit.sample",
    "git config user.name 'Me'",
    "git config --global core.autocrlf input",
    "git config --get core.hooksPath",
    "git -c user.email=x@y.z commit -m msg",
    "cat ~/.ssh/authorized_keys",
    "ssh-keygen -t ed25519 -f ./deploy_key -N ''",
    "npx husky install",
    "echo 'done' >> build.log",
    "cp config.example.toml config.toml",
    "pip install -e .",
    "python -c 'import site; print(site.getsitepackages())'",
    "sed -i 's/a/b/' src/app.py",
    "tee out.txt < in.txt",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "persistence")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "persistence")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
