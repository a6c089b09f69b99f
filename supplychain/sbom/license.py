"""Licence names as SPDX license expressions (issue 12, item 3): the one place catalogers turn what a package
declares (Debian's DEP-5 short names, apk's ``L:``, a wheel's ``License`` or classifiers) into SPDX.

Names are looked up in license-expression's SPDX licensing (SPDX License List ids, case-insensitively, and the
deprecated ``GPL-2.0+`` forms it maps to ``-or-later``). Debian's own short names follow DEP-5 section
"License short name" (``GPL-2+``, ``LGPL-2.1``, ``Expat``, ``BSD-3-clause``, ``public-domain``): the GNU
families become ``-only`` / ``-or-later`` ids, ``Expat`` is SPDX's ``MIT``, and a name SPDX does not know becomes
``LicenseRef-<name>`` with the characters SPDX's ``idstring`` does not allow (SPDX 2.3 annex D: letters, digits,
``.`` and ``-``) replaced by ``-``, so every result is a valid expression.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # license-expression loads the SPDX list (~60 ms): only when a licence is first mapped
    from collections.abc import Iterable

    from license_expression import LicenseExpression, Licensing

# DEP-5 names for licences SPDX spells differently (DEP-5 "License short name" table; SPDX ids).
_DEBIAN_NAMES = {
    "expat": "MIT",
    "artistic": "Artistic-1.0-Perl",  # Debian's common-licenses/Artistic is the Artistic licence Perl ships
    "psf-2": "PSF-2.0",
    "zope-2.1": "ZPL-2.1",
    "cc0": "CC0-1.0",
}
# GPL-2, GPL-2+, GPLv3+, LGPL-2.1, AGPL-3+, GFDL-1.3: the GNU families, whose SPDX ids say -only or -or-later.
_GNU = re.compile(r"^(A?GPL|LGPL|GFDL)(?:-|v)?(\d(?:\.\d)?)(\+)?$", re.IGNORECASE)
_TOKEN = re.compile(r"[(),]|[^\s(),]+")
_NOT_IDSTRING = re.compile(r"[^A-Za-z0-9.]+")
_REF_LENGTH = 64  # a free-text "License:" first line is not a name: keep its LicenseRef short


@functools.cache
def _licensing() -> Licensing:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@functools.cache
def _syntax() -> Licensing:
    """A licensing that knows no symbol: it parses and renders an expression whose names ``spdx_id`` has already
    chosen, and changes none of them. The SPDX licensing would: ScanCode's database gives it aliases of
    ``LicenseRef-`` names (``LicenseRef-LICENSE``, the name we give a wheel's ``License: LICENSE``, is its
    ``LicenseRef-scancode-proprietary-license``; ``LicenseRef-GPL`` its ``GPL-1.0-or-later``), guesses that a
    name SPDX does not know must not be given."""
    from license_expression import Licensing

    return Licensing()


@functools.cache
def _known() -> dict[str, str]:
    """SPDX ids (and license-expression's aliases), lower-cased, to their canonical spelling."""
    known: dict[str, str] = {}
    for key, symbol in _licensing().known_symbols.items():
        if not key.startswith("LicenseRef-"):
            known[key.lower()] = symbol.key
    return known


def license_ref(name: str) -> str:
    """``LicenseRef-<name>`` with characters outside SPDX's idstring replaced by ``-``."""
    cleaned = _NOT_IDSTRING.sub("-", name).strip("-.")[:_REF_LENGTH].strip("-.")
    return f"LicenseRef-{cleaned or 'unknown'}"


@functools.lru_cache(maxsize=8192)
def spdx_id(name: str) -> str:
    """One licence name (SPDX id in any case, DEP-5 short name, deprecated ``X+``) as an SPDX id or LicenseRef."""
    name = name.strip()
    known = _known()
    if name.lower() in known:
        return known[name.lower()]
    if name.lower() in _DEBIAN_NAMES:
        return _DEBIAN_NAMES[name.lower()]
    gnu = _GNU.match(name)
    if gnu:
        family, version, plus = gnu.group(1).upper(), gnu.group(2), gnu.group(3)
        version = version if "." in version else f"{version}.0"
        candidate = f"{family}-{version}-{'or-later' if plus else 'only'}"
        if candidate.lower() in known:
            return known[candidate.lower()]
    if name.endswith("+") and name[:-1].lower() in known:
        base = known[name[:-1].lower()]
        later = f"{base}-or-later".lower()
        return known.get(later, f"{base}+")
    return license_ref(name)


@functools.lru_cache(maxsize=8192)  # a Debian image repeats a few hundred names thousands of times
def spdx_expression(declared: str) -> str | None:
    """A declared licence (``GPL-2+ or Artistic``, ``MIT and (GPLv2+ or BSD)``, ``LGPL-2.1+ with OpenSSL
    exception``) as a rendered SPDX expression, or ``None`` when nothing is declared. Operators are SPDX's in any
    case (DEP-5 and rpm write them lower case); a comma is ``and`` (DEP-5 lists); free text where a name belongs
    (a licence's first sentence) becomes one ``LicenseRef-``."""
    declared = declared.strip()
    if not declared:
        return None
    pieces: list[str] = []
    words: list[str] = []
    after_with = False

    def flush() -> bool:
        nonlocal after_with
        if not words:
            return True
        name = " ".join(words)
        words.clear()
        if after_with:
            after_with = False
            exception = _exception(name)
            if exception:
                pieces.append(exception)
            else:  # not an exception SPDX knows: kept as a licence beside the one it modifies
                pieces[-1:] = ["AND", license_ref(name)]
            return True
        if " " in name:
            return False
        pieces.append(spdx_id(name))
        return True

    for token in _TOKEN.findall(declared):
        upper = token.upper()
        if upper in ("AND", "OR", "WITH") or token in ("(", ")", ","):
            if not flush():
                return license_ref(declared)
            if token == ",":  # noqa: S105 - a licence list's comma, not a credential
                pieces.append("AND")
            elif token in ("(", ")"):
                pieces.append(token)
            else:
                if pieces and pieces[-1] == "AND" and upper != "WITH":
                    pieces.pop()  # ", and" / ", or": the word decides
                pieces.append(upper)
                after_with = upper == "WITH"
            continue
        words.append(token)
    if not flush():
        return license_ref(declared)
    if not any(piece not in ("AND", "OR", "WITH", "(", ")") for piece in pieces):
        return None
    from license_expression import ExpressionError

    try:
        return str(parse_expression(" ".join(pieces)).render())
    except (ExpressionError, AssertionError, IndexError):  # what its parser raises on a malformed expression
        return license_ref(declared)


def all_of(expressions: Iterable[str]) -> str | None:
    """Several licence expressions (a package's) as the one that holds them all, for a format that takes one
    (SPDX's ``licenseDeclared``; CycloneDX 1.6 when one of them is compound): joined by ``AND``, a compound one in
    parentheses; ``None`` for none."""
    given = [expression.strip() for expression in expressions if expression.strip()]
    if len(given) < 2:
        return given[0] if given else None
    return " AND ".join(f"({expression})" if is_compound(expression) else expression for expression in given)


def is_compound(expression: str) -> bool:
    """Whether an SPDX license expression combines licences (SPDX 2.3 annex D: AND, OR, WITH, parentheses)."""
    words = expression.replace("(", " ( ").replace(")", " ) ").split()
    return any(word in ("AND", "OR", "WITH", "(") for word in words)


def parse_expression(expression: str) -> LicenseExpression:
    """An expression as ``spdx_expression`` wrote it, as license-expression's object (what spdx-tools takes),
    every name as written: not spdx-tools' own ``spdx_licensing``, whose ScanCode aliases rename LicenseRefs
    (``_syntax``)."""
    return _syntax().parse(expression)


def _exception(name: str) -> str | None:
    key = name.strip().lower()
    for candidate in (key, f"{key}-exception", key.replace(" exception", "-exception")):
        symbol = _licensing().known_symbols.get(_known().get(candidate, ""))
        if symbol is not None and symbol.is_exception:
            return str(symbol.key)
    return None


__all__ = ["all_of", "is_compound", "license_ref", "parse_expression", "spdx_expression", "spdx_id"]
