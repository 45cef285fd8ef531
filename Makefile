# The README's commands. `make run` on a fresh clone: venv, install, embedded PostgreSQL,
# migrate, demo data (啊道村 and two neighbours), serve on http://127.0.0.1:8000 (`make run PORT=8001` for another
# port). `make test`: the whole suite.
# The interpreter .venv/ is made from: the system's /usr/bin/python3 where it is 3.11 or newer
# with venv (Debian's and Ubuntu's are built with profile-guided optimisation and LTO, and run
# the suite about 1.13x faster than pyenv's default build, docs/performance.md), otherwise
# the python3 on the PATH. `make PYTHON=python3.12 ...` in a checkout without .venv/ for another.
PYTHON ?= $(or $(shell for p in /usr/bin/python3 python3; do \
	$$p -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done),python3)
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The checks and the suite keep compiled modules (__pycache__, ignored by git) even where
# the environment asks Python not to write them: the suite starts dozens of Python processes
# (workers, servers, manage.py), and pytest keeps its rewritten test modules the same way.
KEEP_BYTECODE := env -u PYTHONDONTWRITEBYTECODE

.PHONY: install install-dev run port-free serve test lint migrate demo bench bench-province messages check-messages purge-css vendor-jsqr clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: | $(BIN)/python  ## production install (no dev tools)
	$(BIN)/pip install --quiet .

install-dev: $(STAMP)

migrate: install-dev
	DEBUG=true $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=true $(BIN)/python manage.py load_demo --if-empty --address http://127.0.0.1:$(PORT)

# Beside the dev server, a task-queue worker: exports, crediting entries whose publicity
# period has ended (every minute), and the embedded PostgreSQL's watchdog, which starts it
# again if it dies. It stops with the server (trap), and make returns once it has, the
# embedded PostgreSQL stopped by the last process to leave it.
run: port-free demo
	DEBUG=true $(BIN)/python manage.py worker & WORKER_PID=$$!; \
	trap 'kill $$WORKER_PID 2>/dev/null; wait $$WORKER_PID' EXIT INT TERM; \
	DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Before anything starts: on a taken port runserver gives up only after the worker and the
# embedded PostgreSQL have started.
port-free:
	@$(PYTHON) -c "import socket, sys; \
	taken = socket.socket().connect_ex(('127.0.0.1', $(PORT))) == 0; \
	sys.exit(taken and 'Port $(PORT) is taken (another make run?): stop what serves there, \
	or serve on another port: make run PORT=8001')"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(KEEP_BYTECODE) $(BIN)/python manage.py makemigrations --check --dry-run

# Two workers; each takes over tests queued on the other once its own are done (worksteal),
# so the long browser sweeps do not leave one worker idle at the end.
test: lint
	$(KEEP_BYTECODE) $(BIN)/pytest -n 2 --dist worksteal

# The performance benchmark: its own databases on the embedded server, a table of figures
# against their references and targets (docs/performance.md). Takes about 7 minutes.
bench: install-dev
	$(BIN)/python -m bench

# Not part of `make bench`: a province (10 counties, 470 villages, ~15 M ledger entries) in
# its own database, the pages timed there against one village. About 30 minutes, 10 GB.
bench-province: install-dev
	$(BIN)/python -m bench --province

# After merging new pages: refresh the catalogue from the code, compile it, then list every
# entry still untranslated or fuzzy (exits non-zero until they are translated). Commit both
# the .po and the .mo, so no gettext install is needed where the app runs.
MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=staticfiles --ignore=test-artifacts

messages: install-dev
	DEBUG=true $(BIN)/python manage.py makemessages -l zh_Hans $(MAKEMESSAGES_IGNORE)
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv
	$(BIN)/python scripts/check_translations.py

check-messages: install-dev
	$(BIN)/python scripts/check_translations.py

# After a template or script uses a Bootstrap class it did not use before: rewrite the purged
# stylesheet the pages load (needs Node's npx at build time only) and commit it.
purge-css: install-dev
	$(BIN)/python scripts/purge_css.py

# When the QR decoder's version in scripts/vendor_jsqr.py changes: fetch the npm package's
# browser build and licence into static/vendor (needs Node's npm at build time only) and commit.
vendor-jsqr: install-dev
	$(BIN)/python scripts/vendor_jsqr.py

clean:
	rm -rf $(VENV) .pgdata staticfiles
