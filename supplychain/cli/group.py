"""``Group``: a click group whose command listing shows each summary whole.

click cuts a subcommand's summary (the docstring's first sentence) to fit one line and ends it with "..."; a
summary is written to be read whole, so it wraps instead. Command groups (``tlog``, ``attach``, ``download``)
use this class; the root group lists its commands from a static table (``cli.main``), also whole.
"""

from __future__ import annotations

import click

_WHOLE = 10_000  # "no limit" for click's short help: the first sentence, never cut


class Group(click.Group):
    """A ``click.Group`` whose ``--help`` lists each command's first sentence whole, wrapped."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=_WHOLE)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
