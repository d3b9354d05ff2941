# ringfence: `make demo` sets everything up and runs the demo; `make test` sets everything up
# and runs the whole test suite. Both are idempotent on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# the container tests' own: podman with runc and gVisor's runsc (run --backend podman|gvisor,
# the exported seccomp profile); debootstrap makes their root file system once
TEST_APT_PACKAGES := podman runc runsc uidmap debootstrap
APT_PACKAGES := bubblewrap curl git iproute2 procps util-linux python3 python3-venv gcc libc6-dev python3-requests python3-httpx openssl

.PHONY: demo test setup system-packages venv clients lint typecheck bench clean

demo: setup
	$(PY) demo/demo.py

test: setup
	$(MAKE) --no-print-directory system-packages APT_PACKAGES="$(TEST_APT_PACKAGES)"
	bash tests/run.sh

setup: system-packages venv

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,fast]'
	touch $@

# Real clients for the end-to-end tests (Node 24, Claude Code) from the npm registry into
# .cache/clients; idempotent. tests/run.sh runs it too, and goes on without them if it fails
# (the tests that need them then skip, naming `make clients`).
clients:
	bash tests/support/install-clients.sh

typecheck: venv
	$(VENV)/bin/mypy

bench: setup
	bash bench/run.sh

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
