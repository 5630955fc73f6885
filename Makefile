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

.PHONY: e2e sample demo checkpatch
# A real kernel emits the tracepoints: Debian's stock kernel under QEMU runs a test module
# built from patch/'s TRACE_EVENTs, the real perf records the scenarios (e2e/harness.py),
# tests/test_e2e.py checks formats, events and the report. Downloads go to .cache/e2e/.
e2e: deps
	$(PYTHON) e2e/harness.py run
	KSCAND_PERF_REQUIRE_E2E=1 $(PYTHON) -m pytest -q -ra tests/test_e2e.py

# Re-record samples/ (the sample trace, the lines that were fired and its truth).
sample: deps
	$(PYTHON) e2e/harness.py sample

# The report on the sample recorded from a real kernel.
demo:
	@$(APT_ENSURE) linux-perf python3-tabulate
	$(PERF) script -s perf-scripts/kscand_report.py -i samples/kscand-sample.data

# checkpatch.pl --no-tree (from Debian's linux-source) on every patch in patch/.
checkpatch:
	$(PYTHON) e2e/checkpatch.py

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
