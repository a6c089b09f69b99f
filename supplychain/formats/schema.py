"""Typed access to a decoded JSON document: the small strict readers that stand in for schema models where loading
a model library would cost more than the read (docs/architecture.md, "Fast start": Rekor entry bodies, which every
``verify`` of a logged signature reads, and TrustedRoot documents, which every keyless ``verify`` reads).

The document comes from ``strictjson.loads_untrusted`` (duplicate keys, wide numbers, deep nesting already refused);
a ``JsonReader`` checks the JSON type of each field it is asked for and refuses with one error naming the field's
path (``tlogs.0.publicKey.rawBytes: expected a string, got number``), raised as the caller's own error class.
Unknown fields are ignored: newer documents add some.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def type_name(value: object) -> str:
    """The JSON name of ``value``'s type, for messages (``null``, ``number``, ``object``...)."""
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def path(where: str, name: str | int) -> str:
    """``where.name``; ``name`` alone at the top of the document (``where`` empty)."""
    return f"{where}.{name}" if where else str(name)


@dataclass(frozen=True, slots=True)
class JsonReader:
    """The readers, each refusal ``error("<path>: <problem>")``."""

    error: Callable[[str], Exception]

    def object(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"{where or 'document'}: expected an object, got {type_name(value)}")
        return value

    def member(self, obj: dict[str, Any], name: str, where: str) -> Any:
        if name not in obj:
            raise self.error(f"{path(where, name)}: field required")
        return obj[name]

    def string(self, obj: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
        """The string ``name``; when absent, ``default`` (``None``: the field is required)."""
        if default is not None and name not in obj:
            return default
        value = self.member(obj, name, where)
        if not isinstance(value, str):
            raise self.error(f"{path(where, name)}: expected a string, got {type_name(value)}")
        return value

    def integer(self, obj: dict[str, Any], name: str, where: str, default: int | None = None) -> int:
        """The integer ``name`` (a JSON number without fraction; not a boolean, not a string of digits); when
        absent, ``default`` (``None``: the field is required)."""
        if default is not None and name not in obj:
            return default
        value = self.member(obj, name, where)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{path(where, name)}: expected an integer, got {type_name(value)}")
        return value

    def optional_string(self, obj: dict[str, Any], name: str, where: str) -> str | None:
        """The string ``name``, or ``None`` when it is absent or null."""
        return None if obj.get(name) is None else self.string(obj, name, where)

    def child(self, obj: dict[str, Any], name: str, where: str, *, optional: bool = False) -> dict[str, Any]:
        """The object ``name`` (``optional``: ``{}`` when absent)."""
        if optional and name not in obj:
            return {}
        return self.object(self.member(obj, name, where), path(where, name))

    def array(self, obj: dict[str, Any], name: str, where: str, *, least: int = 0, most: int | None = None,
              optional: bool = False) -> list[Any]:
        """The array ``name``, of ``least`` to ``most`` items (``optional``: ``[]`` when absent)."""
        if optional and name not in obj:
            return []
        at = path(where, name)
        value = self.member(obj, name, where)
        if not isinstance(value, list):
            raise self.error(f"{at}: expected an array, got {type_name(value)}")
        if len(value) < least:
            raise self.error(f"{at}: expected at least {least} item(s), got {len(value)}")
        if most is not None and len(value) > most:
            raise self.error(f"{at}: expected at most {most} items, got {len(value)}")
        return value

    def objects(self, obj: dict[str, Any], name: str, where: str, *, least: int = 0, most: int | None = None,
                optional: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """The array ``name`` of objects, each with its path (``signatures.0``) for the messages about its fields."""
        at = path(where, name)
        return [(f"{at}.{number}", self.object(item, f"{at}.{number}"))
                for number, item in enumerate(self.array(obj, name, where, least=least, most=most,
                                                         optional=optional))]


__all__ = ["JsonReader", "path", "type_name"]
