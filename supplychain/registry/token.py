"""The distribution token protocol: the request to a token service, its answer, scopes and the token cache.

``docs/spec/auth/token.md`` (GET with one ``scope`` parameter per scope, Basic credentials or anonymous) and
``oauth.md`` (POST form with ``grant_type=refresh_token`` and ``client_id``, one space-separated ``scope``);
the answer carries ``token`` or ``access_token`` (``token`` wins) and ``expires_in`` (default 60 s), perhaps a
rotated ``refresh_token``; it is read capped at ``MAX_TOKEN_RESPONSE_BYTES`` and strictly
(``formats.strictjson``). Scopes are ``type:name:actions`` (``docs/spec/auth/scope.md``). Tokens are cached
per scope set and refreshed a little early, so a token never dies in flight.

Where a token request may go, and with which credentials, is not decided here: ``registry.auth`` checks the
realm and the scheme (never credentials over plain HTTP to another host, never across origins) before it
builds a request with these functions, and handles the service's 401/403 (they are about the credentials).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from supplychain.errors import UnavailableError
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.registry.challenge import Challenge

# Distribution token spec: "expires_in ... When omitted, this defaults to 60 seconds."
DEFAULT_TOKEN_LIFETIME = 60.0
# Refresh this long before expiry (a quarter of very short lifetimes), so a token never dies in flight.
EARLY_REFRESH = 10.0
# Token answers are a few kilobytes; a token service sending more is broken or hostile.
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
# OAuth2 client_id sent with refresh-token grants (distribution oauth.md: "client_id (REQUIRED)").
CLIENT_ID = "supplychain"

# RFC 6750 section 2.1 b64token, widened to every visible ASCII character: no spaces, no CR/LF.
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")
_MAX_SHOWN = 200

Scope = tuple[str, str, frozenset[str]]


class TokenServiceError(UnavailableError):
    """The token service failed, or answered something that is not a token."""

    default_hint = "retry; if it persists the registry's token service is broken: ask its operator"


# -- scopes ----------------------------------------------------------------------------------------------------


def challenge_scopes(challenge: Challenge) -> list[str]:
    """The challenge's ``scope``: one or more space-separated resource scopes (token.md "Requesting a Token")."""
    raw = challenge.param("scope") or ""
    seen: dict[str, None] = {}
    for scope in raw.split():
        seen.setdefault(scope, None)
    return list(seen)


def guess_scope(key: tuple[str, str]) -> Scope | None:
    """The resource scope distribution would ask for a ``(repository, pull|push|delete)`` request
    (registry/handlers/app.go ``appendAccessRecords``); ``None`` for a path that names no repository."""
    resource, access = key
    if resource.startswith("/"):
        return None  # not a repository path
    actions = {"pull": {"pull"}, "push": {"pull", "push"}, "delete": {"delete"}}[access]
    return "repository", resource, frozenset(actions)


def scope_text(scope: Scope) -> str:
    """``type:name:actions`` as distribution writes it in a challenge (actions sorted: ``pull,push``)."""
    kind, name, actions = scope
    return f"{kind}:{name}:{','.join(sorted(actions))}"


def parse_scope(scope: str) -> Scope | None:
    """``type:name:actions`` (names may hold ``:``, e.g. a registry host with a port)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    return kind, name, frozenset(a for a in actions.split(",") if a)


def covers(granted: frozenset[str], needed: Scope) -> bool:
    """Whether a token granted for ``granted`` scopes allows ``needed`` (same type and name, its actions or ``*``)."""
    kind, name, actions = needed
    for scope in granted:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        g_kind, g_name, g_actions = parsed
        if g_kind == kind and g_name == name and ("*" in g_actions or actions <= g_actions):
            return True
    return False


# -- the cache -------------------------------------------------------------------------------------------------


@dataclass(slots=True, repr=False)
class Token:
    """A bearer token and the (monotonic) time it is to be refreshed by."""

    value: str
    valid_until: float

    def __repr__(self) -> str:
        return f"Token(***, valid_until={self.valid_until})"


class TokenCache:
    """Tokens per scope set, for the lifetime of one ``RegistryAuth``. Not locked: its owner holds its lock."""

    def __init__(self) -> None:
        self._tokens: dict[frozenset[str], Token] = {}

    def valid(self, scopes: frozenset[str], now: float) -> str | None:
        """The cached token for exactly ``scopes``, if it is still valid at ``now``."""
        cached = self._tokens.get(scopes)
        return cached.value if cached is not None and cached.valid_until > now else None

    def covering(self, needed: Scope, now: float) -> tuple[frozenset[str], str] | None:
        """A valid cached token whose scopes cover ``needed``, with those scopes."""
        for scopes, cached in self._tokens.items():
            if cached.valid_until > now and covers(scopes, needed):
                return scopes, cached.value
        return None

    def put(self, scopes: frozenset[str], value: str, *, started: float, lifetime: float) -> None:
        """Cache ``value``, valid from ``started`` (when it was asked for) for ``lifetime`` less the early refresh."""
        early = min(EARLY_REFRESH, lifetime / 4)
        self._tokens[scopes] = Token(value, started + lifetime - early)

    def forget(self, value: str) -> None:
        """Drop a token the registry refused."""
        for scopes in [scopes for scopes, cached in self._tokens.items() if cached.value == value]:
            del self._tokens[scopes]


# -- the request and its answer --------------------------------------------------------------------------------


def token_request(
    realm: httpx.URL,
    service: str | None,
    scopes: list[str],
    *,
    user_agent: str | None,
    refresh_token: str | None,
    account: str | None,
    authorization: str | None,
) -> httpx.Request:
    """The token request: with ``refresh_token``, the OAuth2 POST form (oauth.md); else the GET of token.md, with
    ``account`` and the ``authorization`` header (Basic) when the caller has credentials for this realm."""
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    if user_agent:
        headers["User-Agent"] = user_agent
    if refresh_token:
        # distribution oauth.md: POST form, one space-separated scope field.
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID}
        if service:
            form["service"] = service
        if scopes:
            form["scope"] = " ".join(scopes)
        return httpx.Request("POST", realm, headers=headers, data=form)
    # distribution token.md: GET with one scope parameter per scope, Basic credentials if we have them.
    params: list[tuple[str, str | int | float | bool | None]] = []
    if service:
        params.append(("service", service))
    params.extend(("scope", scope) for scope in scopes)
    if account is not None:
        params.append(("account", account))
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.Request("GET", realm, headers=headers, params=params)


@dataclass(frozen=True, slots=True, repr=False)
class TokenAnswer:
    """What a token service granted: the token, its lifetime in seconds, and a rotated refresh token if any."""

    token: str
    lifetime: float
    refresh_token: str | None

    def __repr__(self) -> str:
        return f"TokenAnswer(***, lifetime={self.lifetime})"


def parse_token_answer(response: httpx.Response, realm: httpx.URL) -> TokenAnswer:
    """The token of a token service's answer (read with ``read_capped``), or ``TokenServiceError``.

    The caller has handled 401 and 403 (they are about the credentials); a redirect is not followed."""
    shown = display_url(realm)
    status = response.status_code
    if 300 <= status < 400:
        raise TokenServiceError(
            f"token service {shown} answered HTTP {status} (a redirect); supplychain does not follow "
            "redirects of token services"
        )
    if not response.is_success:
        raise TokenServiceError(f"token service {shown} answered HTTP {status}{error_detail(response)}")
    try:
        answer = loads_untrusted(response.content)
    except JsonFormatError as exc:  # bad syntax or UTF-8, duplicate keys, wide numbers, deep nesting
        raise TokenServiceError(f"token service {shown} answered with something that is not JSON") from exc
    if not isinstance(answer, dict):
        raise TokenServiceError(f"token service {shown} answered JSON that is not an object")
    # "token" and "access_token" may both appear (token.md); "token" wins.
    token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenServiceError(f"token service {shown} answered without a token")
    if not _TOKEN_CHARS.match(token):
        raise TokenServiceError(f"token service {shown} answered a token with invalid characters")
    expires_in = answer.get("expires_in")
    lifetime = DEFAULT_TOKEN_LIFETIME
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        lifetime = float(expires_in)
    refresh_token = answer.get("refresh_token")
    valid_refresh = isinstance(refresh_token, str) and bool(refresh_token) and bool(_TOKEN_CHARS.match(refresh_token))
    return TokenAnswer(token, lifetime, refresh_token if valid_refresh else None)


def error_detail(response: httpx.Response) -> str:
    """`` (what the token service said)`` from its JSON error body, or ``""``."""
    try:
        answer = loads_untrusted(response.content)
    except JsonFormatError:
        return ""
    said: object = None
    if isinstance(answer, dict):
        errors = answer.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            said = errors[0].get("message") or errors[0].get("code")
        said = said or answer.get("details") or answer.get("error_description") or answer.get("error")
    if not isinstance(said, str) or not said:
        return ""
    line = " ".join("".join(c if c.isprintable() else " " for c in said).split())
    return f" ({line if len(line) <= _MAX_SHOWN else line[:_MAX_SHOWN] + '...'})"


def display_url(url: httpx.URL) -> str:
    """A URL for messages: no user info, no query (it may hold a refresh token or an account)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def display_raw(raw: str) -> str:
    """A realm as the registry wrote it, for messages: no query, cut at 200 characters, quoted."""
    text = raw.split("?", 1)[0]
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...")


# -- the capped read -------------------------------------------------------------------------------------------


def _too_large() -> TokenServiceError:
    return TokenServiceError(f"the token service's answer exceeds {MAX_TOKEN_RESPONSE_BYTES // 1024} KiB")


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise _too_large()
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _declared_too_large(response: httpx.Response) -> bool:
    declared = response.headers.get("Content-Length", "")
    return declared.isdigit() and int(declared) > MAX_TOKEN_RESPONSE_BYTES


def read_capped(response: httpx.Response) -> None:
    """Read a token answer, refusing more than ``MAX_TOKEN_RESPONSE_BYTES`` (raw; we ask for no compression)."""
    if _declared_too_large(response):
        raise _too_large()
    if isinstance(response.stream, httpx.SyncByteStream):
        response.stream = _CappedStream(response.stream, MAX_TOKEN_RESPONSE_BYTES)
    if len(response.read()) > MAX_TOKEN_RESPONSE_BYTES:
        raise _too_large()
