"""Stored --help (issue 10, item 1; cli/statichelp.py): every stored text is what click renders, and main prints
it without importing the command's module only when click would print the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from supplychain.cli.statichelp import STORED_HELP, all_paths, generated_text, render, stored_help, stored_texts
from tests.support.snapshot import UPDATE_ENV, compare_snapshot

PATHS = all_paths()
HELP = stored_texts() if os.path.exists(STORED_HELP) else {}  # (absent: the first test says how to create it)
REGENERATE = f"the stored help is stale: {UPDATE_ENV}=1 python3 -m pytest tests/unit/cli/test_static_help.py"


def test_the_stored_file_is_every_command_s_help_as_click_renders_it():
    # The snapshot switch regenerates it (README, Development); a changed help is a changed --help to review.
    compare_snapshot(Path(STORED_HELP), generated_text(), tests="tests/unit/cli/test_static_help.py",
                     note=" (cli/stored_help.txt: every --help)")


def test_the_stored_file_is_package_data():
    """An installed wheel has it (setuptools ships only the package data pyproject names beside the modules)."""
    package_data = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "cli/stored_help.txt" in package_data["package-data"]["supplychain"]


def test_every_command_has_a_stored_help_and_nothing_else_does():
    assert sorted(HELP) == sorted(" ".join(path) for path in PATHS), REGENERATE


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "supplychain")
def test_each_stored_help_is_what_click_renders(path: tuple[str, ...]):
    live = render(path)
    if os.environ.get(UPDATE_ENV) != "1":  # (regenerating: the file is rewritten above, this process read the old)
        assert HELP[" ".join(path)] == live, REGENERATE
    assert render(path, "-h") == live  # -h is --help everywhere (the root's help_option_names, inherited)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``supplychain ARGS`` in a fresh interpreter; the last stdout line is the modules it imported."""
    probe = (
        "import json, sys\n"
        f"sys.argv = ['supplychain', *{args!r}]\n"
        "from supplychain.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print(); print(json.dumps(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "SUPPLYCHAIN_DEBUG")}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env={**environment, **env})


def printed(result: subprocess.CompletedProcess[str]) -> tuple[str, set[str]]:
    text, _, modules = result.stdout.rpartition("\n\n")
    return text + "\n", set(json.loads(modules))


@pytest.mark.parametrize("args", [["verify", "--help"], ["tlog", "serve", "-h"], ["--help"]])
def test_a_stored_help_is_printed_without_importing_the_command(args: list[str]):
    result = run(args)
    assert result.returncode == 0, result.stderr
    text, modules = printed(result)
    assert text == HELP[" ".join(args[:-1])]
    assert "supplychain.cli.verify" not in modules and "supplychain.cli.tlog" not in modules
    assert "click._textwrap" not in modules  # nothing was wrapped


def test_a_narrow_terminal_gets_click_s_own_rendering():
    result = run(["verify", "--help"], COLUMNS="60")
    assert result.returncode == 0, result.stderr
    text, modules = printed(result)
    assert "supplychain.cli.verify" in modules
    description = text.splitlines()[2]  # the first line of prose (option names may overflow any width)
    assert len(description) <= 58 < len(HELP["verify"].splitlines()[2])
    assert text.split("\n", 1)[0] == HELP["verify"].split("\n", 1)[0]  # the same help, narrower


@pytest.mark.parametrize("args", [["verify", "IMAGE", "--help"], ["--debug", "verify", "--help"],
                                  ["verify", "--help", "--key"], ["no-such-command", "--help"]])
def test_anything_but_command_then_help_goes_to_click(args: list[str]):
    assert stored_help(args) is None
    result = run(args)
    _, modules = printed(result)
    if args[0] == "no-such-command":
        assert result.returncode == 2 and "no-such-command" in result.stderr
    else:
        assert "supplychain.cli.verify" in modules  # click built the command


def test_a_wide_terminal_gets_the_stored_text():
    result = run(["sign", "--help"], COLUMNS="200")  # click caps help at 80 columns whatever the terminal
    text, modules = printed(result)
    assert text == HELP["sign"] and "supplychain.cli.sign" not in modules


def test_a_forced_width_gets_click_s_own_rendering():
    # click.testing.CliRunner forces 80 columns of text (click.formatting.FORCED_WIDTH), a terminal gives 78.
    from click.testing import CliRunner

    from supplychain.cli.main import main

    with CliRunner().isolation() as (stdout, _, _):
        with pytest.raises(SystemExit):
            main(["tlog", "init", "--help"])
        text = stdout.getvalue().decode()
    assert text != HELP["tlog init"] and "[default: 127.0.0.1]" in text
