"""The one renderer interface: which formats a result can be written in, and one ``Renderer`` per result type.

Every command's result goes to stdout through a ``Renderer``: ``renderer.render(result, fmt)`` returns the whole
text to print, for each ``Format`` the renderer has. Text is for people (values from a registry, layout or log
escaped: ``report.text``); JSON is the stable, documented form (docs/output.md) that CI gates read, shaped here
in ``report/`` and nowhere else. SARIF (the CI gate) and HTML (the registry audit) are later members of ``Format``:
a renderer gains them as an optional field, and ``formats`` says which a result type offers, so a command's
``-o`` lists only what it can print (pip-audit's ``format`` module and CycloneDX's outputters have the same shape:
one interface, one implementation per format).

Standard library only: ``cli.options`` imports it to build ``-o`` for ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar, assert_never

R = TypeVar("R")


class Format(StrEnum):
    """What ``-o/--output`` selects."""

    TEXT = "text"
    JSON = "json"


def indented_json(document: Any) -> str:
    """The JSON of ``inspect``, ``ls``, ``tree``, ``copy`` and the ``tlog`` tools: two-space indent, keys in the
    order the renderer wrote them, non-ASCII as ``\\u`` escapes."""
    import json  # on use: --help, which imports Format, formats no JSON

    return json.dumps(document, indent=2, sort_keys=False)


class Renderer(NamedTuple, Generic[R]):
    """How one result type is written: ``text`` to a string for people, ``json`` to the JSON document (plain
    dicts and lists, keys in output order), and ``encode_json`` to the printed form of that document.

    A (frozen) named tuple rather than a dataclass: ``--help`` imports this module (for ``-o``'s choices), and
    ``dataclasses`` (with ``copy``) is a measurable part of its start-up (issue 10, item 1)."""

    text: Callable[[R], str]
    json: Callable[[R], Any]
    encode_json: Callable[[Any], str] = indented_json

    @property
    def formats(self) -> tuple[Format, ...]:
        """The formats this renderer can write (every one today; SARIF and HTML will be optional)."""
        return tuple(Format)

    def render(self, result: R, fmt: Format) -> str:
        """``result`` in ``fmt``, without a trailing newline."""
        match fmt:
            case Format.TEXT:
                return self.text(result)
            case Format.JSON:
                return self.encode_json(self.json(result))
            case _:
                assert_never(fmt)
