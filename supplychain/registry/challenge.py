"""``WWW-Authenticate`` challenges, parsed as RFC 7235 section 4.1 defines them.

A header carries one or more comma-separated challenges, and a response may carry several header lines::

    WWW-Authenticate = 1#challenge                                      ; RFC 7235 section 4.1
    challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]   ; section 2.1
    auth-param       = token BWS "=" BWS ( token / quoted-string )
    quoted-string    = DQUOTE *( qdtext / quoted-pair ) DQUOTE           ; RFC 7230 section 3.2.6

The comma separates both parameters and challenges, so a name not followed by ``=`` starts the next challenge.
Schemes and parameter names are case-insensitive (we lower-case them); values keep their case. A parameter
named twice in one challenge is refused (section 2.2: "each parameter name MUST only occur once per
challenge"), so that a second ``realm`` cannot hide behind the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from supplychain.errors import AuthError

# RFC 7230 section 3.2.6: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 7235 section 2.1: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_OWS = re.compile(r"[ \t]*")


class MalformedChallengeError(AuthError):
    """A ``WWW-Authenticate`` header that does not follow RFC 7235."""

    default_hint = "the registry's authentication challenge is broken; report it to the registry's operator"


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authentication challenge: a lower-cased scheme and its parameters (names lower-cased)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str | None = None

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or ``None``."""
        return self.params.get(name.lower())


def parse_challenges(header_values: Iterable[str]) -> list[Challenge]:
    """Every challenge in the given ``WWW-Authenticate`` header values, in order.

    Raises ``MalformedChallengeError`` for input that is not a valid challenge list.
    """
    challenges: list[Challenge] = []
    for value in header_values:
        challenges.extend(_Parser(value).challenges())
    return challenges


class _Parser:
    """A small cursor over one header value."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def challenges(self) -> list[Challenge]:
        out: list[Challenge] = []
        while True:
            self._skip_list_separators()
            if self._at_end():
                break
            out.append(self._challenge())
        if not out:
            raise self._error("no challenge in the header")
        return out

    def _challenge(self) -> Challenge:
        scheme = self._token()
        if scheme is None:
            raise self._error("expected an authentication scheme")
        params: dict[str, str] = {}
        # The scheme is followed by 1*SP and then either a token68 or a list of parameters, or by nothing.
        if self._at_end() or self._peek() == ",":
            return Challenge(scheme.lower(), params)
        if self._peek() not in " \t":
            raise self._error(f"expected a space after the scheme {scheme!r}")
        self._skip(_OWS)
        token68 = self._token68()
        if token68 is not None:
            return Challenge(scheme.lower(), params, token68)
        while True:
            self._skip(_OWS)
            if self._at_end():
                break
            if self._peek() == ",":  # empty list elements are allowed (RFC 7230 section 7)
                self.pos += 1
                continue
            start = self.pos
            name = self._token()
            if name is None:
                raise self._error("expected a parameter name")
            self._skip(_OWS)
            if self._peek() != "=":
                # A bare token: the scheme of the next challenge.
                self.pos = start
                break
            self.pos += 1
            self._skip(_OWS)
            value = self._quoted_string() if self._peek() == '"' else self._token()
            if value is None:
                raise self._error(f"parameter {name!r} has no value")
            key = name.lower()
            if key in params:
                raise self._error(f"parameter {name!r} appears twice in one challenge")
            params[key] = value
            self._skip(_OWS)
            if self._at_end():
                break
            if self._peek() != ",":
                raise self._error(f"unexpected {self._peek()!r} after parameter {name!r}")
        return Challenge(scheme.lower(), params)

    def _token68(self) -> str | None:
        """A token68 is only taken when the whole list element is one (else it is ``name=value``)."""
        match = _TOKEN68.match(self.text, self.pos)
        if match is None:
            return None
        end = _OWS.match(self.text, match.end())
        after = end.end() if end else match.end()
        if after < len(self.text) and self.text[after] != ",":
            return None
        # A bare word that ends the element cannot be an auth-param (which needs "="): it is a token68.
        self.pos = after
        return match.group()

    def _quoted_string(self) -> str:
        assert self.text[self.pos] == '"'
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":  # quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                if self.pos + 1 >= len(self.text):
                    break
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char in "\r\n\x00":
                raise self._error("control character inside a quoted string")
            out.append(char)
            self.pos += 1
        raise self._error("unterminated quoted string")

    def _token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def _skip(self, pattern: re.Pattern[str]) -> None:
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def _skip_list_separators(self) -> None:
        while not self._at_end() and self.text[self.pos] in " \t,":
            self.pos += 1

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _error(self, problem: str) -> MalformedChallengeError:
        shown = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        return MalformedChallengeError(
            f"malformed WWW-Authenticate header ({problem} at character {self.pos}): {shown!r}"
        )
