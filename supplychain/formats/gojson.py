"""JSON as Go's ``encoding/json`` writes it, and a strict reader for signed JSON.

What we sign must be byte-identical to what cosign (Go) would sign for the same inputs, so that a payload made
here and one made by cosign for the same image are the same bytes (sigstore ``pkg/signature/payload``
``payload_test.go`` goldens). Go's ``json.Marshal`` differs from Python's ``json.dumps`` in ways that matter:

- map keys are sorted (struct fields keep declaration order: callers pass dicts in that order);
- ``<``, ``>`` and ``&`` are escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``; U+2028 and U+2029 as
  ``\\u2028``/``\\u2029``; other non-ASCII is written as UTF-8, not as ``\\u`` escapes;
- control characters use ``\\n``, ``\\r``, ``\\t``, ``\\b``, ``\\f`` (Go 1.22+) or ``\\u00XX``;
- float64 is the shortest representation that round-trips, in plain notation for 1e-6 <= |x| < 1e21 and
  ``1e+21``/``1e-7`` style outside (``strconv.FormatFloat(f, 'f'|'e', -1, 64)`` with the exponent cleaned up).

Reading signed JSON is strict: duplicate keys are refused, because two verifiers that pick different copies
of a duplicated ``docker-manifest-digest`` would disagree about what was signed, and nesting is capped. The
reader is the one strict decoder, ``formats.strictjson.loads_untrusted``; ``decode_strict`` only names it for
signed documents (its errors and limits live there too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from supplychain.formats.strictjson import MAX_NESTING, loads_untrusted

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class GoJsonError(ValueError):
    """A value Go's encoder would refuse (NaN, infinity, a non-string map key, an unknown type)."""


def encode(value: Any, *, sort_keys: bool = True) -> bytes:
    """``value`` encoded as Go's ``json.Marshal`` would: compact, UTF-8.

    Mappings are written with sorted keys (Go maps) unless ``sort_keys`` is false (Go structs: the caller's
    order is the declaration order). Nested mappings follow the same rule.
    """
    parts: list[str] = []
    _encode(value, parts, sort_keys)
    return "".join(parts).encode("utf-8")


def encode_string(text: str) -> str:
    """A JSON string literal, escaped as Go escapes it."""
    out = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":
            out.append("\\ufffd")  # Go replaces invalid UTF-8 (a lone surrogate here) with U+FFFD
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def format_float(number: float) -> str:
    """A float64 as Go's encoder formats it (encoding/json ``floatEncoder``)."""
    if math.isnan(number) or math.isinf(number):
        raise GoJsonError(f"unsupported value: {number!r} (Go's encoder refuses NaN and infinities)")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    magnitude = abs(number)
    if 1e-6 <= magnitude < 1e21:
        # Shortest round-trip digits (Python's repr, like Go's -1 precision), written without an exponent.
        return format(Decimal(repr(number)).normalize(), "f")
    mantissa, _, exponent = repr(number).partition("e")
    sign = exponent[0] if exponent[0] in "+-" else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    return f"{mantissa.removesuffix('.0')}e{sign}{digits}"


def _encode(value: Any, out: list[str], sort_keys: bool) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(encode_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, Mapping):
        keys = list(value)
        if not all(isinstance(k, str) for k in keys):
            raise GoJsonError("map keys must be strings")
        if sort_keys:
            # Go sorts map keys by their UTF-8 bytes.
            keys.sort(key=lambda k: k.encode("utf-8", "surrogatepass"))
        out.append("{")
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(encode_string(key))
            out.append(":")
            _encode(value[key], out, sort_keys)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, sort_keys)
        out.append("]")
    else:
        raise GoJsonError(f"cannot encode a {type(value).__name__} as JSON")


def decode_strict(data: bytes, *, max_nesting: int = MAX_NESTING) -> Any:
    """Parse signed JSON with the one strict decoder (``formats.strictjson.loads_untrusted``): UTF-8 only, no
    duplicate keys, no ``NaN``/``Infinity``, integers within int64/uint64, at most ``max_nesting`` deep.

    Raises ``JsonFormatError`` (a ``ValueError``: ``DuplicateKeyError``, ``NestingError``, ``NumberError``) on
    anything else; callers turn it into their own error or verdict.
    """
    return loads_untrusted(data, max_nesting=max_nesting)


__all__ = ["GoJsonError", "decode_strict", "encode", "encode_string", "format_float"]
