# kscand-perf. Every target installs what it needs from Debian's packages.
# The interpreter is the one perf embeds, so tests and perf see the same packages.
PYTHON ?= /usr/bin/python3
PERF ?= perf
APT_ENSURE = tools/apt-ensure
DEPS = linux-perf python3-tabulate python3-pytest

.PHONY: all deps test

all: test

deps:
	@$(APT_ENSURE) $(DEPS)

test: deps
	$(PYTHON) -m pytest -q -ra tests
