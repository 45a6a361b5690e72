# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: demo test chromium lint messages bench clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vestibule demo --port $(PORT)

# Debian's Chromium for the browser tests (never a downloaded browser build). A package manager
# that is busy (unattended upgrades) is waited for: two minutes for the lists, ten to install.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    for try in 1 2 3 4 5 6 7 8 9 10 11 12; do apt-get update -qq && break; \
	      echo "apt is busy (another package manager?): trying again in 10 s"; sleep 10; done; \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null; \
	  else echo "Chromium missing: run 'sudo apt-get install chromium' for the browser tests"; fi; \
	fi

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Every page state audited by axe, FR and EN, 1280 and 375 px, as PNG into docs/screenshots/.
screenshots: $(STAMP) chromium
	VESTIBULE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_accessibility.py

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the French catalogue after changing user-visible strings (needs gettext).
messages: $(STAMP)
	cd vestibule && VESTIBULE_VAR_DIR=../var ../$(BIN)/django-admin makemessages -l fr --settings=vestibule.settings --no-obsolete
	cd vestibule && VESTIBULE_VAR_DIR=../var ../$(BIN)/django-admin compilemessages -l fr --settings=vestibule.settings

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
