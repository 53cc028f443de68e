# onion-dropbox: `make run` tries it, `make lint` and `make test` prove it, `make bench` measures it.
# All install first.
PYTHON ?= python3
VENV := .venv
DROPBOX := $(VENV)/bin/dropbox
PORT ?= 8080
DEMO_TEAM := alexandra bahaa mario

.PHONY: install run lint test test-fast bench bench-attacks clean translations dist

# Compiled message catalogues are built here, never committed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard dropbox/translations/*/LC_MESSAGES/messages.po))
install: $(VENV)/.installed $(VENV)/.test-tools $(CATALOGUES) tests/browser/node_modules/.installed

# The lock files pin every dependency by hash: the same bytes on every machine. Running needs
# base.lock (what an operator installs) and build.lock (to install this tree in place); the
# tests and linters come from dev.lock, which pins all of them the same way.
PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check
$(VENV)/.installed: requirements/base.lock requirements/build.lock setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements/base.lock -r requirements/build.lock
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-tools: requirements/dev.lock $(VENV)/.installed
	$(PIP) --require-hashes -r requirements/dev.lock
	touch $@

%.mo: %.po | $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -i $< -o $@

# axe-core for the browser tests, pinned by package-lock.json; skipped where npm is missing.
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	if command -v npm >/dev/null; then cd tests/browser && npm ci --ignore-scripts --no-audit --no-fund --silent && touch node_modules/.installed; fi

# After changing a reporter-facing string: new ones go into each language's .po to be translated.
translations: | $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l --no-location --sort-output --project onion-dropbox \
	  -o dropbox/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i dropbox/translations/messages.pot -d dropbox/translations

# A demo instance on loopback with three demo responders, and their air-gapped side.
instance/config.toml: | $(VENV)/.installed
	rm -rf demo-airgap instance
	mkdir -p demo-airgap
	$(VENV)/bin/python -c "from keys.codename import new_codename; print(new_codename())" > demo-airgap/passphrase.txt
	for name in $(DEMO_TEAM); do \
	  $(DROPBOX) keys new $$name --out demo-airgap --passphrase-file demo-airgap/passphrase.txt || exit 1; done
	$(DROPBOX) keys trust $(foreach name,$(DEMO_TEAM),demo-airgap/$(name).pub) --trusted demo-airgap/trusted
	$(DROPBOX) init --data instance --demo
	for name in $(DEMO_TEAM); do $(DROPBOX) team add $$name demo-airgap/$$name.pub --data instance || exit 1; done
	@echo
	@echo "Demo responder keys are in demo-airgap/ (passphrase: $$(cat demo-airgap/passphrase.txt))."
	@echo "See the README, 'Try the whole loop', for what to do with them."

run: $(VENV)/.installed $(CATALOGUES) instance/config.toml
	$(DROPBOX) serve --data instance --port $(PORT)

# ruff's rules and mypy's settings, and why each, are in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/mypy

test: install
	$(VENV)/bin/python -m pytest

# The loop while changing code: everything but the tests marked slow (real tor, browsers, big
# payloads, the packaging build, a minute of stress, the longest end-to-end runs), and the fuzz
# tests with a tenth of their examples. CI runs `make test`, which is all of it.
test-fast: install
	$(VENV)/bin/python -m pytest -m "not slow" --hypothesis-profile fast -q

# Not part of `make test`: minutes of work and gigabytes of scratch files. QUICK=1 for 100 MiB.
# Reuses the tests' server starter (tests/support) and streaming client, hence tests/ on the path.
ONIONSHARE := .venv-onionshare/.installed
bench: install $(ONIONSHARE)
	PYTHONPATH=tests $(VENV)/bin/python -m bench $(if $(QUICK),--quick)

# OnionShare in its own venv, pinned by hash: the peer the bench runs with --local-only (no tor).
$(ONIONSHARE): requirements/bench.lock
	$(PYTHON) -m venv .venv-onionshare
	.venv-onionshare/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bench.lock
	touch $@

# The site under the attacks of tests/adversarial, measured (README "Under attack"); ~5 minutes.
# The attackers are those tests' own, from tests/support.
bench-attacks: install
	PYTHONPATH=tests $(VENV)/bin/python -m bench.attacks

# The wheel and sdist an operator installs (docs/OPERATING.md), built offline from this
# tree with the tools the lock pinned; catalogues are compiled into the wheel.
DIST ?= dist
# setuptools' thousand lines of progress are shown only if the build fails.
dist: | $(VENV)/.installed
	@rm -rf build
	@log=$$(mktemp) && if $(VENV)/bin/python -c "import sys, setuptools.build_meta as b; out = sys.argv[1]; b.build_sdist(out); b.build_wheel(out)" $(DIST) >$$log 2>&1; \
	  then rm -f $$log; else cat $$log; rm -f $$log; exit 1; fi
	@echo "built into $(DIST)/:"
	@ls -l $(DIST)

clean:
	rm -rf $(VENV) .venv-onionshare build dist instance demo-airgap .pytest_cache .mypy_cache .ruff_cache *.egg-info tests/browser/node_modules tests/artifacts
	find dropbox/translations -name '*.mo' -delete
