"""Boolean flags spelled as cosign's (Go ``pflag``) are: ``--flag``, ``--flag=true|false``, and our ``--no-flag``.

cosign's bool flags take an optional value attached with ``=`` only (``--insecure-ignore-tlog=true``,
``--tlog-upload=false``; Go's ``strconv.ParseBool`` spellings); the next argument is never taken as the value.
click has no such option: a flag refuses ``=value``, and an option with an optional value
(``is_flag=False, flag_value=True``) takes the next argument when it does not start with ``-``, so
``verify --insecure-ignore-tlog IMAGE`` would read ``IMAGE`` as the boolean. Here a flag stays a click boolean flag
pair (``--flag/--no-flag``, the ``--no-`` form hidden from ``--help`` unless it was already ours), and the command
rewrites ``--flag=VALUE`` into ``--flag`` or ``--no-flag`` before click parses, so the last spelling given wins as
in Go. Values of other options (``-a --check-claims=x``) and everything after ``--`` are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from click.formatting import join_options

# Go's strconv.ParseBool.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class GoBoolOption(click.Option):
    """A boolean flag that also takes ``=true``/``=false`` (needs a ``GoFlagCommand``).

    Declare it as ``"--name"`` (a hidden ``--no-name`` is added for ``--name=false``) or ``"--name/--no-name"``
    (``show_negative=True`` keeps the ``--no-`` form in ``--help``). Help shows ``--name[=true|false]``.
    """

    def __init__(self, param_decls: Sequence[str], *, show_negative: bool = False, **attrs: Any) -> None:
        decls = list(param_decls)
        if not any("/" in decl for decl in decls):
            long_names = [d for d in decls if d.startswith("--")]
            decls[decls.index(long_names[0])] = f"{long_names[0]}/--no-{long_names[0][2:]}"
        attrs["is_flag"] = True
        super().__init__(decls, **attrs)
        self.show_negative = show_negative

    @property
    def negative(self) -> str:
        """The spelling that sets the flag false."""
        return self.secondary_opts[0]

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        names = join_options(self.opts)[0] + "[=true|false]"
        if self.show_negative:
            names += " / " + join_options(self.secondary_opts)[0]
        return names, record[1]


class GoFlagCommand(click.Command):
    """A command whose ``GoBoolOption`` flags also accept ``=VALUE`` (see the module docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rewrite_go_bools(self.params, args, ctx))


def parse_go_bool(name: str, value: str, ctx: click.Context | None = None) -> bool:
    """``value`` as Go's ``strconv.ParseBool`` reads it; a usage error naming ``name`` otherwise."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise click.BadOptionUsage(name, f"invalid value {value!r} for {name}: use {name}=true or {name}=false "
                               "(or 1, t, TRUE, 0, f, FALSE)", ctx=ctx)


def rewrite_go_bools(params: Sequence[click.Parameter], args: Sequence[str],
                     ctx: click.Context | None = None) -> list[str]:
    """``args`` with every ``--flag=VALUE`` of a ``GoBoolOption`` turned into ``--flag`` or its negative."""
    spellings: dict[str, tuple[str, str]] = {}
    takes_value: set[str] = set()
    for param in params:
        if isinstance(param, GoBoolOption):
            for name in param.opts:
                spellings[name] = (name, param.negative)
        elif isinstance(param, click.Option) and not param.is_flag and not param.count:
            takes_value.update(param.opts)
    out: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            out += [arg, *rest]
            break
        name, equals, value = arg.partition("=")
        if equals and name in spellings:
            positive, negative = spellings[name]
            out.append(positive if parse_go_bool(name, value, ctx) else negative)
            continue
        out.append(arg)
        if arg in takes_value:  # its value follows, whatever it looks like
            following = next(rest, None)
            if following is not None:
                out.append(following)
    return out
