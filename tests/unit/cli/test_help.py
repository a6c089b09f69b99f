"""Help (issue 8.20): every command's --help has an Examples section, and no group listing cuts a summary
with "..." (click's default cuts short help at 45 characters)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from supplychain.cli.main import _SHORT_HELP, cli
from supplychain.cli.statichelp import all_paths

COMMANDS = all_paths()


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="supplychain", terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_reaches_every_command():
    assert ("tlog", "serve") in COMMANDS and ("attach", "signature") in COMMANDS and ("ls",) in COMMANDS
    assert len(COMMANDS) >= 26


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "supplychain")
def test_every_help_has_examples(path: tuple[str, ...]):
    text = help_text(path)
    assert "\nExamples:\n" in text or "\n  Examples:\n" in text, text
    examples = text.split("Examples:\n", 1)[1].split("\n\n", 1)[0]
    # The examples are commands of this tool, at their own indentation (click kept the lines: \b).
    assert all(line.startswith("    supplychain ") or line.startswith(("        ", "    printf "))
               for line in examples.splitlines()), examples


GROUPS = [(), *((name,) for name in cli.list_commands(click.Context(cli))
                 if isinstance(cli.get_command(click.Context(cli), name), click.Group))]


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "supplychain")
def test_group_listings_show_whole_summaries(path: tuple[str, ...]):
    text = help_text(path)
    listing = text.split("Commands:\n", 1)[1]
    rows = [line for line in listing.splitlines() if line.strip()]
    assert rows
    for row in rows:
        assert not row.rstrip().endswith("..."), row
    # Each summary is its command's first sentence, ended by its full stop (wrapped, never cut).
    entries = re.split(r"\n  (?=\S)", "\n" + listing.rstrip())[1:]
    assert all(" ".join(e.split()).endswith(".") for e in entries), entries


def test_the_root_table_lists_every_command_whole():
    assert sorted(_SHORT_HELP) == sorted(cli.list_commands(click.Context(cli)))
    assert all(not s.endswith("...") and s.endswith(".") for s in _SHORT_HELP.values())
