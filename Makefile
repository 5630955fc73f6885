# kscand-perf. Every target installs what it needs from Debian's packages.
# The interpreter is the one perf embeds, so tests and perf see the same packages.
PYTHON ?= /usr/bin/python3
PERF ?= perf
APT_ENSURE = tools/apt-ensure
# (python3-tabulate: the tests' oracle of the table layout; the product does not use it)
DEPS = linux-perf python3-tabulate python3-pytest flake8 python3-mypy python3-matplotlib \
	python3-jsonschema python3-zstandard $(PACKAGING_DEPS)
# What tests/test_deb.py, test_pip_install.py and test_manpages.py need: the .deb's build
# tools and lintian, a venv with pip, groff and man.
PACKAGING_DEPS = dpkg-dev debhelper dh-python pybuild-plugin-pyproject python3-all \
	python3-setuptools python3-wheel lintian python3-venv groff-base man-db

.PHONY: all deps test lint

all: test

deps:
	@$(APT_ENSURE) $(DEPS)

test: deps lint
	$(PYTHON) -m pytest -q -ra tests

# flake8 and mypy --strict (settings in setup.cfg), as Debian packages them.
LINT_PY = kscand_perf kscand_testkit perf-scripts bin/kscand-perf bin/kscand-record \
	bin/kscand-report bench \
	tests e2e tools/readme.py
lint: deps
	$(PYTHON) -m flake8 $(LINT_PY)
	$(PYTHON) -m mypy kscand_perf kscand_testkit

.PHONY: fuzz
# The reader's fuzz target (tests/test_fuzz_reader.py) with N mutated recordings from SEED
# (make test runs 2,000 from 0); a failure names the seed that replays it.
N ?= 20000
SEED ?= 0
fuzz: deps
	KSCAND_PERF_FUZZ_N=$(N) KSCAND_PERF_FUZZ_SEED=$(SEED) $(PYTHON) -m pytest -q -ra \
		tests/test_fuzz_reader.py

.PHONY: e2e sample demo checkpatch
# A real kernel emits the tracepoints: Debian's stock kernel under QEMU runs a test module
# built from patch/'s TRACE_EVENTs, the real perf records the scenarios (e2e/harness.py),
# tests/test_e2e.py checks formats, events and the report. Downloads go to .cache/e2e/.
e2e: deps
	$(PYTHON) e2e/harness.py run
	KSCAND_PERF_REQUIRE_E2E=1 $(PYTHON) -m pytest -q -ra tests/test_e2e.py

.PHONY: e2e-kscand
# A kernel that really runs kscand (KSCAND_KERNEL=path/to/bzImage, default
# ../shared/kernels/kscand-v3-6.12/bzImage) under QEMU with a slow memory tier: the user's
# flow (kscand-record, its report, make install, perf script report) on a workload of
# ours (e2e/kscand/), checked by tests/test_e2e_kscand.py. Results: build/e2e-kscand/.
e2e-kscand: deps
	$(PYTHON) e2e/kscand/stage.py run
	KSCAND_PERF_REQUIRE_E2E=1 $(PYTHON) -m pytest -q -ra tests/test_e2e_kscand.py

# Build the kscand kernel with patch/'s kernel patches into .cache/kscand-kernel/ (by hand,
# not in CI: about 25 min and 3 GB on 2 cores; tools/build-kscand-kernel says how), then
# KSCAND_KERNEL=.cache/kscand-kernel/build/arch/x86/boot/bzImage make e2e-kscand.
.PHONY: kscand-kernel
kscand-kernel:
	tools/build-kscand-kernel

# Re-record samples/ (the sample trace, the lines that were fired and its truth).
sample: deps
	$(PYTHON) e2e/harness.py sample

# Re-record samples/kscand-ab-sample.* on the kscand kernel (KSCAND_KERNEL), kscand beside
# NUMA balancing, and its truth from the oracle (tests/test_sample_ab.py checks it).
.PHONY: sample-ab demo-ab
sample-ab: deps
	$(PYTHON) e2e/kscand/stage.py sample

# The report on the sample recorded from a real kernel, then its plots over time
# (--plot: PNG and SVG files) in demo-plots/ where matplotlib is installed. demo does not
# install matplotlib: on a minimal Debian 12 it alone pulls 160 packages, 177 MB of
# archives, 881 MB on disk (numpy, scipy, a compiler) against 32 packages, 17.6 MB and
# 63.5 MB for perf; demo-plots installs it and draws them.
DEMO_PLOTS ?= demo-plots
.PHONY: demo-plots
demo:
	@$(APT_ENSURE) linux-perf
	@$(PERF) script -s perf-scripts/kscand_report.py -i samples/kscand-sample.data
	@if $(PYTHON) -c 'import matplotlib' 2>/dev/null; then $(MAKE) -s demo-plots; else \
		echo "(plots: python3-matplotlib is not installed; make demo-plots installs it," \
		"about 180 MB of downloads, and draws them into $(DEMO_PLOTS)/)"; fi

# The report on the A/B sample (kscand and NUMA balancing both promoting), with its counters.
demo-ab:
	@$(APT_ENSURE) linux-perf
	@$(PERF) script -s perf-scripts/kscand_report.py -i samples/kscand-ab-sample.data -- \
		--vmstat samples/kscand-ab-sample.data.vmstat-before.txt \
		samples/kscand-ab-sample.data.vmstat-after.txt

demo-plots:
	@$(APT_ENSURE) linux-perf python3-matplotlib
	@$(PERF) script -s perf-scripts/kscand_report.py -i samples/kscand-sample.data -- \
		--interval 0.2 --plot $(DEMO_PLOTS) | tail -n 1

# checkpatch.pl --no-tree (from Debian's linux-source) on every patch in patch/.
checkpatch:
	$(PYTHON) e2e/checkpatch.py

.PHONY: perf-versions perf-chroots
# perf 6.1 (the host's), 6.12 and 7.3 give the same report on every trace of the suite.
# The other perfs run in chroots from Debian's registry (tools/perf-chroot, needs root;
# built once, about 40 s each, into .cache/perf-chroots/).
perf-versions: deps
	KSCAND_PERF_REQUIRE_E2E=1 $(PYTHON) -m pytest -q -ra tests/test_perf_versions.py

perf-chroots:
	tools/perf-chroot 6.12
	tools/perf-chroot 7.3

.PHONY: golden bench
# Re-make the small committed trace, its truth and its golden text report (after an
# intended change of the simulator or of the text); tests/test_golden.py checks the
# golden numbers against the truth, tests/test_render.py the simulator against the trace.
golden: deps
	bin/kscand-perf synth -o tests/data/small.data --mms 3 --seconds 8 --seed 21 \
		--truth tests/data/small.truth.json
	$(PERF) script -s perf-scripts/kscand_report.py -i tests/data/small.data \
		> tests/data/small.report.txt

# The benchmark (docs/development.md): medians of 5 pairs against perf's empty-handler floor,
# both readers, the perf script, churn, start-up; BIG=1 adds 10M events (much longer).
bench: deps
	$(PYTHON) bench/run.py $(if $(BIG),--big)

.PHONY: readme
# Regenerate the command output shown in README.md (checked by tests/test_readme.py).
readme: deps readme-plot
	$(PYTHON) tools/readme.py --write

.PHONY: readme-plot
# The README's plot (docs/img/sample-promotions.png; tests/test_plot.py checks it is current).
readme-plot: deps
	$(PYTHON) tools/readme-plot

.PHONY: deb
# The Debian package, ../kscand-perf_VERSION_all.deb (debian/; docs/install.md), then lintian.
deb:
	@$(APT_ENSURE) $(PACKAGING_DEPS)
	dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning ../kscand-perf_*_$$(dpkg --print-architecture).changes

.PHONY: install uninstall intree-check
# Install where perf users look (docs/install.md): afterwards `perf script -l` lists
# kscand-report. PERF_EXEC_PATH: perf's exec path (default `perf --exec-path`).
# PYTHON_SITE: where perf's embedded Python (= $(PYTHON)) finds kscand_perf: the
# dist-packages folder under PREFIX on its sys.path (/usr/local/lib/python3.X/dist-packages
# for /usr/local, /usr/lib/python3/dist-packages for /usr).
PREFIX ?= /usr/local
PERF_EXEC_PATH ?= $(shell $(PERF) --exec-path 2>/dev/null)
PYTHON_SITE ?= $(shell $(PYTHON) -c 'import sys; p = [d for d in sys.path if \
	d.startswith(sys.argv[1] + "/lib/") and d.endswith("-packages")]; print((sorted(p, \
	key=lambda d: "/python3/" not in d) or [sys.argv[1] + "/lib/python3/dist-packages"])[0])' \
	'$(PREFIX)')
PERF_PY = $(DESTDIR)$(PERF_EXEC_PATH)/scripts/python
# Man pages and bash completion, generated from the argument parsers at install time
# (kscand_perf/manpage.py, kscand_perf/completion.py); man and bash-completion look in
# these folders under /usr/local and /usr.
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES = kscand-perf kscand-perf-report kscand-perf-record kscand-perf-compare \
	kscand-perf-merge kscand-record
# The commands installed into PREFIX/bin. The test machinery (kscand_testkit) is never
# installed: tests/test_install.py lists every installed file.
COMMANDS = kscand-perf kscand-record kscand-report

install:
	@test -n "$(PERF_EXEC_PATH)" || { echo "make install: no perf exec path:" \
		"install linux-perf or set PERF_EXEC_PATH" >&2; exit 1; }
	install -d '$(PERF_PY)/bin' '$(DESTDIR)$(PYTHON_SITE)/kscand_perf' '$(DESTDIR)$(PREFIX)/bin'
	install -m 644 perf-scripts/kscand_report.py '$(PERF_PY)/kscand-report.py'
	install -m 755 bin/kscand-report-record bin/kscand-report-report '$(PERF_PY)/bin/'
	cd kscand_perf && find . \( -name '*.py' -o -name '*.schema.json' \) -exec install -D -m 644 {} \
		'$(DESTDIR)$(PYTHON_SITE)/kscand_perf/{}' ';'
	for cmd in $(COMMANDS); do \
		sed '1s|^#!.*python.*|#!$(PYTHON)|' bin/$$cmd > '$(DESTDIR)$(PREFIX)/bin/'$$cmd && \
		chmod 755 '$(DESTDIR)$(PREFIX)/bin/'$$cmd || exit 1; \
	done
	# generated in a temporary folder: the source tree may be read-only (the real-kscand
	# stage installs from a read-only share)
	gen=$$(mktemp -d) && trap 'rm -rf "$$gen"' EXIT && \
	$(PYTHON) -m kscand_perf.manpage "$$gen/man1" && \
	$(PYTHON) -m kscand_perf.completion "$$gen/kscand-perf.bash" && \
	install -d '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(COMPLETIONDIR)' && \
	install -m 644 $(foreach p,$(MAN_PAGES),"$$gen/man1/$(p).1") '$(DESTDIR)$(MANDIR)/man1/' && \
	install -m 644 "$$gen/kscand-perf.bash" '$(DESTDIR)$(COMPLETIONDIR)/kscand-perf' && \
	ln -sf kscand-perf '$(DESTDIR)$(COMPLETIONDIR)/kscand-record'

uninstall:
	@test -n "$(PERF_EXEC_PATH)" && test -n "$(PYTHON_SITE)" || { echo "make uninstall:" \
		"no perf exec path or Python folder: set PERF_EXEC_PATH and PYTHON_SITE" >&2; exit 1; }
	rm -f '$(PERF_PY)/kscand-report.py' '$(PERF_PY)/bin/kscand-report-record' \
		'$(PERF_PY)/bin/kscand-report-report' \
		$(foreach cmd,$(COMMANDS),'$(DESTDIR)$(PREFIX)/bin/$(cmd)') \
		$(foreach p,$(MAN_PAGES),'$(DESTDIR)$(MANDIR)/man1/$(p).1') \
		'$(DESTDIR)$(COMPLETIONDIR)/kscand-perf' '$(DESTDIR)$(COMPLETIONDIR)/kscand-record'
	rm -rf '$(DESTDIR)$(PYTHON_SITE)/kscand_perf'

# The in-tree series (patch/perf/; docs/install.md): apply it to Debian's
# linux-source-7.3 tools/perf, checkpatch, pylint and mypy it, run its shell test under
# perf 7.3 (tools/find-perf-chroot), and compare its figures with the package's; run the
# script's main() on a stand-in perf module.
intree-check: deps
	KSCAND_PERF_REQUIRE_E2E=1 $(PYTHON) -m pytest -q -ra tests/test_intree.py \
		tests/test_intree_script.py
