# Every target sets up what it needs: `make run` and `make test` work on a fresh machine.
# The venv installs the pinned, hash-checked versions of requirements/dev.txt (the lock), then the project
# itself without dependencies. pyproject.toml keeps the ranges; `make lock` turns them into the lock files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKED := $(VENV)/.locked
STAMP := $(VENV)/.installed
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

# HOST= and PORT= on make's command line (`make run HOST=0.0.0.0 PORT=5001`) become serve's --host and --port;
# without them serve keeps its own defaults, and so reads PORT from the environment or .env.
SERVE_ARGS := $(if $(filter command line,$(origin HOST)),--host $(HOST)) \
	$(if $(filter command line,$(origin PORT)),--port $(PORT))

.PHONY: venv run demo test system-packages lock upgrade bench screenshots clean

# Two steps, so that `make lock` works while pyproject.toml names a dependency the lock does not have yet.
$(LOCKED): requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	touch $(LOCKED)

$(STAMP): $(LOCKED) pyproject.toml
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; \
		echo "The lock files do not match pyproject.toml: run 'make lock', then try again." >&2; exit 1; }
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/twitterstream serve $(SERVE_ARGS)

demo: $(STAMP)
	TWITTERSTREAM_SOURCE=replay $(BIN)/twitterstream serve $(SERVE_ARGS)

# Redis and Chromium come from the system (Debian packages redis-server, chromium): installed when possible,
# otherwise the script says what to install and stops.
system-packages:
	bash scripts/install-system-packages.sh

test: system-packages $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Pins for the dependencies pyproject.toml names: dev.txt is everything `make test` needs, runtime.txt
# (what the Docker image installs) is its runtime part, at the same versions. Pins already in the files are
# kept where the ranges allow; `make upgrade` moves every pin to the newest version allowed.
lock: $(LOCKED)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) $(UPGRADE) -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/runtime.txt

upgrade: UPGRADE := --upgrade
upgrade: lock

bench: $(STAMP)
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

# The README's pictures, taken from the bundled demo in Chromium (docs/screenshots/*.png).
screenshots: system-packages $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
