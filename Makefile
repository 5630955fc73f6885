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

.PHONY: golden bench
# Re-render the golden text report after an intended change of the text output;
# tests/test_golden.py still checks its numbers against the committed truth.
golden: deps
	$(PERF) script -s perf-scripts/kscand_report.py -i tests/data/small.data \
		> tests/data/small.report.txt

bench: deps
	$(PYTHON) bench/run.py

.PHONY: readme
# Regenerate the command output shown in README.md (checked by tests/test_readme.py).
readme: deps
	$(PYTHON) tools/readme.py --write
