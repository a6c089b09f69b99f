"""Text that came from a registry, a layout or a log, made safe to print (the one place that does it).

Labels, annotations, artifact types, tag names, platform fields and server error messages are chosen by whoever
pushed the image. Printed raw, an ESC starts a terminal control sequence (CSI cursor moves and colour, OSC
window titles and hyperlinks, DCS), CR and BS overwrite what was printed before, and bidi controls (U+202E
RIGHT-TO-LEFT OVERRIDE, Trojan Source, CVE-2021-42574) reorder it: the output lies about the image, or drives
the terminal (CVE-2021-25743, kubectl's unescaped event text, is this class). Every text renderer passes such
values through ``escape``, on a terminal or not (a log file is displayed on a terminal later). The characters
are shown, never dropped: ``\\x1b``, ``\\r``, ``\\u202e``. JSON output does not use this: it is exact, and JSON's
own string escaping makes it safe to parse.

Standard library only: ``cli.main``'s error boundary uses it too, and must stay fast to import.
"""

from __future__ import annotations

import unicodedata

# Unicode general categories that are never printable text: Cc (C0, DEL, C1 controls: ESC, CSI U+009B, CR,
# BS, LF, TAB), Cf (format: the bidi embeddings, overrides and isolates U+202A..U+202E and U+2066..U+2069,
# U+200E/F marks, U+061C, zero-width characters, U+FEFF), Zl/Zp (U+2028/U+2029 line and paragraph
# separators) and Cs (lone surrogates, from undecodable bytes).
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape(text: str) -> str:
    """``text`` with every control, format (bidi) and separator character written as a visible escape
    (``\\x1b``, ``\\r``, ``\\u202e``, ``\\U000e0001``); printable text, including non-ASCII letters, unchanged."""
    if text.isprintable() and text.isascii():
        return text  # the common case, at C speed
    return "".join(_escape_char(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def escape_json_text(text: str) -> str:
    """A JSON document printed as a line of text (``download``, verify's text form), with the same characters
    escaped the JSON way (``\\u202e``, surrogate pairs above U+FFFF): still valid JSON of the same value."""
    if text.isprintable() and text.isascii():
        return text
    return "".join(_json_escape_char(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def _json_escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escape_char(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
