"""Man pages and bash completion, generated from the argument parsers.

Each page renders without a warning (groff -man -ww -z), has the sections a man page
needs, and holds every option that the command's --help shows; the completion offers
every one of them too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any, Dict, List

import pytest

from conftest import ROOT, require
from kscand_perf import completion, manpage

COMMANDS = ["report", "record", "compare", "merge"]
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS",
            "SEE ALSO"]


@pytest.fixture(scope="module")
def pages() -> Dict[str, str]:
    return manpage.pages("2026-01-01")


def help_of(*argv: str) -> str:
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", argv[0])] + list(argv[1:])
                          + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120, env=dict(os.environ, COLUMNS="200"))
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def options_in_help(text: str) -> List[str]:
    """Every option string that --help shows in its usage and its option lists (not the
    examples of perf's options in its epilog)."""
    usage = text.split("\n\n")[0]
    listed = [ln for ln in text.splitlines() if re.match(r"^  -", ln)]
    return sorted(set(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)",
                                 "\n".join([usage] + listed))))


def plain(roff: str) -> str:
    """The page's text without font changes and escapes."""
    return re.sub(r"\\f[BIRP]", "", roff).replace("\\-", "-").replace("\\e", "\\")


def missing_options(help_text: str, page: str) -> List[str]:
    """The options of --help that the page's OPTIONS section does not describe."""
    section = re.search(r"^\.SH OPTIONS$(.*?)^\.SH ", page, re.M | re.S)
    assert section is not None
    text = plain(section.group(1))
    return [o for o in options_in_help(help_text)
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text)]


def test_one_page_per_command_and_the_main_page(pages: Dict[str, str]) -> None:
    assert sorted(pages) == sorted(["kscand-perf.1", "kscand-record.1"]
                                   + ["kscand-perf-%s.1" % c for c in COMMANDS])
    assert pages["kscand-record.1"] == ".so man1/kscand-perf-record.1\n"
    main = plain(pages["kscand-perf.1"])
    for command in COMMANDS:
        assert "kscand-perf-%s(1)" % command in main


@pytest.mark.parametrize("command", COMMANDS)
def test_page_has_every_option_of_help(pages: Dict[str, str], command: str) -> None:
    page = pages["kscand-perf-%s.1" % command]
    text = help_of("kscand-perf", command)
    assert len(options_in_help(text)) >= 4
    assert missing_options(text, page) == []
    for section in SECTIONS:
        assert re.search(r"^\.SH %s$" % section, page, re.M), section
    if command == "record":
        assert missing_options(help_of("kscand-record"), page) == []


def test_a_missing_option_is_caught(pages: Dict[str, str]) -> None:
    page = pages["kscand-perf-report.1"]
    doctored = page.replace("\\fB\\-\\-per\\-mm\\fR", "\\fB\\-\\-per\\fR")
    assert doctored != page
    assert missing_options(help_of("kscand-perf", "report"), doctored) == ["--per-mm"]


def test_main_page_has_the_main_options(pages: Dict[str, str]) -> None:
    assert missing_options(help_of("kscand-perf"), pages["kscand-perf.1"]) == []


def test_pages_render_without_warnings(pages: Dict[str, str], tmp_path: Any) -> None:
    groff = shutil.which("groff")
    require(groff is not None, "groff is not installed (apt-get install groff-base)")
    man1 = tmp_path / "man1"
    man1.mkdir()
    for name, text in pages.items():
        (man1 / name).write_text(text)
    for name in sorted(pages):
        proc = subprocess.run([groff, "-man", "-ww", "-z", "man1/" + name], cwd=str(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert (proc.returncode, proc.stderr.decode(), proc.stdout) == (0, "", b""), name
    man = shutil.which("man")
    if man is not None:   # and man(1) shows a page with its sections
        proc = subprocess.run([man, "-l", str(man1 / "kscand-perf-report.1")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                              env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
        assert proc.returncode == 0, proc.stderr.decode()
        assert "EXIT STATUS" in proc.stdout.decode()


def test_generated_by_the_module_command(tmp_path: Any) -> None:
    out = tmp_path / "man"
    proc = subprocess.run([sys.executable, "-m", "kscand_perf.manpage", str(out)], cwd=ROOT,
                          env=dict(os.environ, SOURCE_DATE_EPOCH="0"), timeout=120,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(os.listdir(str(out))) == sorted(manpage.pages("x"))
    assert '"1970-01-01"' in (out / "kscand-perf.1").read_text()


# -- bash completion -----------------------------------------------------------------

def complete(script: str, line: str) -> List[str]:
    """What the completion offers for ``line`` (the cursor at its end)."""
    bash = shutil.which("bash")
    require(bash is not None, "bash is not installed")
    driver = ('source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("");'
              ' COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); f=$(complete -p "${COMP_WORDS[0]}");'
              ' f=${f#*-F }; ${f%% *}; printf "%s\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run([bash, "-c", driver, "bash", script, line], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    return [w for w in proc.stdout.decode().splitlines() if w]


@pytest.fixture(scope="module")
def script(tmp_path_factory: Any) -> str:
    path = str(tmp_path_factory.mktemp("completion") / "kscand-perf")
    assert completion.main([path]) == 0
    return path


def test_completion_offers_every_option_of_help(script: str) -> None:
    assert complete(script, "kscand-perf ") == COMMANDS + ["-h", "--help", "--version"]
    for command in COMMANDS:
        offered = complete(script, "kscand-perf %s -" % command)
        assert sorted(offered) == options_in_help(help_of("kscand-perf", command)), command
    assert sorted(complete(script, "kscand-record -")) == options_in_help(
        help_of("kscand-record"))


def test_completion_of_values(script: str) -> None:
    assert complete(script, "kscand-perf report --via ") == ["reader", "perf-module", "auto"]
    assert complete(script, "kscand-perf report --top ") == []
    assert complete(script, "kscand-perf report --plot sam") == ["samples"]  # folders
    line = "kscand-perf report -i samples/kscand-s"
    assert "samples/kscand-sample.data" in complete(script, line)
    assert "true" in complete(script, "kscand-record -o x.data -- tru")
    assert "kscand-perf report --json" not in complete(script, "kscand-perf report --json ")
