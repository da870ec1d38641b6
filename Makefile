# snportal: `make run` starts the portal, `make test` runs every test. Both install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WHEELHOUSE_STAMP := var/wheelhouse/service-requirements.txt
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: install run test test-fast lint format stop-db screenshots vendor clean wheelhouse

install: $(STAMP) $(WHEELHOUSE_STAMP)
	@sh deploy/install-debian-packages.sh

# Reinstall Python packages only when requirements.txt changed (fast when nothing did).
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

# The service image's otherpkgdir (docs/hierarchy.md): the service nodes' wheels, built
# from pip's cache when requirements.txt changed; `make wheelhouse` also refreshes the
# source snapshot after code changes (then genimage the service image).
$(WHEELHOUSE_STAMP): requirements.txt $(STAMP)
	$(PY) -m images.wheelhouse

wheelhouse: $(STAMP)
	$(PY) -m images.wheelhouse

run: install
	DEBUG=$${DEBUG:-1} $(PY) -m config.launcher

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerate docs/screenshots/ with the browser walk-through (real lab, real boots).
screenshots: install
	SNPORTAL_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest -q tests/test_walkthrough.py

stop-db: install
	$(PY) manage.py stopdb

vendor:
	sh deploy/vendor.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
