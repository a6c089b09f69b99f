"""Registry authentication as an ``httpx.Auth`` flow: answer 401 challenges with Basic or a Bearer token.

One ``RegistryAuth`` serves one registry origin (scheme, host, port). The flow sends the request; on
``401 Unauthorized`` it reads the ``WWW-Authenticate`` challenges (RFC 7235, parsed in ``challenge``) and:

- **Basic** (RFC 7617): attaches the saved user name and password and sends the request once more; afterwards
  every request to the registry carries them up front.
- **Bearer** (the distribution token spec, ``docs/spec/auth/token.md`` and ``oauth.md``; the protocol itself,
  request, answer, scopes and cache, is ``registry.token``): asks the token service named by ``realm`` for a
  token for ``service`` and the challenge's ``scope`` s, by a GET with Basic credentials (or anonymously), or,
  holding an identity token, by the OAuth2 POST form. Tokens are cached per scope set for the object's lifetime
  and attached up front to later requests for the same scope, so a pull costs one token request, not one per
  blob.

The token request is yielded from the flow, so httpx sends it with the same client (TLS, timeouts, proxies).
A second 401 after answering a challenge is an ``AuthError``.

Safety (issue 2, item 4): credentials are attached only to requests for this registry's origin; never sent
over plain HTTP to a host that is not loopback; a token realm is refused when it downgrades TLS, has a scheme
other than http/https, carries user info, or is a loopback, link-local (the 169.254.169.254 metadata
service), private, shared, reserved or unspecified address other than the registry's own host: an IP literal,
``localhost``/``*.localhost``, or a name any of whose resolved addresses is such (issue 7, item 2). A realm on
another public DNS name is legitimate (Docker Hub's registry sends clients to ``auth.docker.io``).

The flow remembers, per repository and kind of access (pull, push, delete), the challenge the registry sent;
the next such request gets the cached token up front, or a fresh one fetched first when it expired, so the
registry does not have to challenge again.

The flow owns the ``Authorization`` header of requests to the registry: it sets it from its own state and
drops any other value. Request bodies are not buffered (``requires_request_body`` is false) so that blob
uploads stream: when a request whose body is a one-shot stream meets a 401, the flow learns the challenge and
returns the 401 unanswered; send the request again with a fresh body and the credentials go up front (a token
is fetched before the body is sent). Registry clients avoid the round trip by starting an upload with a
bodiless POST, which teaches the flow the push scope.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from supplychain.errors import (
    AuthError,
    ConfigurationError,
    UnsafeRequestError,
)
from supplychain.reference import DOCKER_HUB, DOCKER_HUB_API
from supplychain.registry.address import (
    Resolver,
    address_kind,
    host_addresses,
    ip_literal,
    is_loopback_address,
    is_public,
)
from supplychain.registry.challenge import Challenge, MalformedChallengeError, parse_challenges
from supplychain.registry.credentials import (
    Credentials,
    registry_host,
)
from supplychain.registry.token import (
    TokenCache,
    challenge_scopes,
    display_raw,
    display_url,
    error_detail,
    guess_scope,
    parse_token_answer,
    read_capped,
    scope_text,
    token_request,
)
from supplychain.transport import (
    is_loopback,
    resolve_addresses,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Distribution API paths that name a repository (the scope's resource name).
_REPOSITORY_PATH = re.compile(
    r"^/v2/(?P<name>.+?)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list|referrers/[^/]+)$"
)


TOKEN_WAIT = 30.0
"""Seconds a request waits for another's token fetch for the same scope before it asks the service itself."""


@dataclass(frozen=True, slots=True)
class Origin:
    """An RFC 6454 origin: scheme, host and port (the default port filled in)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: httpx.URL) -> Origin:
        """The origin of ``url``."""
        return cls(url.scheme.lower(), url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme.lower(), 0))

    @property
    def url(self) -> str:
        """``scheme://host[:port]`` without the default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS.get(self.scheme):
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class _Step:
    """A request the flow wants sent; token requests have their (small, capped) answer read before use."""

    request: httpx.Request
    is_token_request: bool = False


@dataclass(frozen=True, slots=True)
class _Sent:
    """What the flow attached up front."""

    basic: bool = False
    token: str | None = None
    scopes: frozenset[str] | None = None
    fresh: bool = False  # fetched during this request, not taken from the cache


class RegistryAuth(httpx.Auth):
    """Answers a registry's 401 challenges (Basic or Bearer token) for one registry origin.

    ``registry`` is ``host[:port]`` (``docker.io`` for Docker Hub, whose API is ``registry-1.docker.io``);
    ``plain_http`` selects ``http://`` for its origin. ``clock`` (seconds, monotonic) times token expiry;
    ``resolve`` (host name to addresses, the system resolver by default) classifies token realms.
    Thread-safe: one instance may serve concurrent requests of one client.
    """

    requires_request_body = False  # streamed uploads stay streamed (see the module docstring)
    requires_response_body = False  # only token answers are read, capped, by the flow itself

    def __init__(
        self,
        registry: str,
        credentials: Credentials | Callable[[], Credentials | None] | None,
        *,
        plain_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
        resolve: Resolver | None = None,
    ) -> None:
        self.registry = registry_host(registry)
        self._resolve = resolve or resolve_addresses  # token realms are classified by their resolved addresses
        # Credentials (or a function finding them) are resolved on the first challenge only: a registry that
        # never asks must work even when the docker config names a broken credential helper (as skopeo does).
        self._credential_source = credentials
        self._credentials: Credentials | None = None
        self._resolved = False
        self._resolve_lock = threading.Lock()
        self._refresh_token: str | None = None
        self.plain_http = plain_http
        self._clock = clock
        api_host = DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry
        try:
            self.origin = Origin.of(httpx.URL(f"{'http' if plain_http else 'https'}://{api_host}/"))
        except httpx.InvalidURL as exc:
            raise ConfigurationError(
                f"invalid registry address {registry!r}", hint="give the registry as host[:port]"
            ) from exc
        if not self.origin.host:
            raise ConfigurationError(f"invalid registry address {registry!r}", hint="give the registry as host[:port]")
        self._lock = threading.Lock()
        self._tokens = TokenCache()
        self._fetching: dict[frozenset[str], threading.Lock] = {}  # one token fetch per scope at a time
        # (repository or path, pull|push|delete) -> the Bearer challenge the registry sent for it last time.
        self._learned: dict[tuple[str, str], Challenge] = {}
        self._use_basic = False
        # The Bearer challenge of the registry's anonymous ``GET /v2/`` (``learn_ping``): its realm and service.
        self._ping_challenge: Challenge | None = None

    @property
    def credentials(self) -> Credentials | None:
        """The credentials for this registry (looked up on first use), or ``None`` for anonymous access."""
        with self._resolve_lock:
            if not self._resolved:
                source = self._credential_source
                found = source() if callable(source) else source
                self._credentials = None if found is None or found.is_empty else found
                self._refresh_token = self._credentials.identity_token if self._credentials else None
                self._resolved = True
            return self._credentials

    def __repr__(self) -> str:
        known = "unresolved" if not self._resolved else ("yes" if self._credentials else "no")
        return f"RegistryAuth({self.origin.url!r}, credentials={known})"

    def learn_ping(self, challenge: str | None) -> None:
        """Take what the registry's anonymous ``GET /v2/`` answered (distribution spec "Determining support": a 401
        carries the registry's challenge), so that its first request per scope is not challenged again: Basic goes
        up front (where it may be sent at all), and a Bearer challenge's realm and service fetch the token for the
        scope a request needs before it is sent, as docker's challenge manager does. A registry that wants another
        scope still says so with a 401, answered as any; a malformed challenge is left for that 401 to report."""
        if not challenge:
            return
        try:
            challenges = parse_challenges([challenge])
        except MalformedChallengeError:
            return
        schemes = {c.scheme: c for c in reversed(challenges)}  # the first of each scheme
        with self._lock:
            if "bearer" in schemes:
                self._ping_challenge = schemes["bearer"]
            elif "basic" in schemes and not (self.origin.scheme == "http"
                                             and not is_loopback(self.origin.host, self._resolve)):
                self._use_basic = True

    # -- httpx drives these ----------------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The synchronous flow: send, answer a challenge, retry once."""
        flow = self._flow(request)
        step = next(flow)
        while True:
            response = yield step.request
            if step.is_token_request:
                read_capped(response)
            try:
                step = flow.send(response)
            except StopIteration:
                return

    # -- the flow --------------------------------------------------------------------------------------------

    def _flow(self, request: httpx.Request) -> Generator[_Step, httpx.Response, None]:
        if Origin.of(request.url) != self.origin:
            # Another origin (a redirect to a CDN, a foreign upload Location): never our credentials, not even
            # a header copied from an earlier request to the registry.
            request.headers.pop("Authorization", None)
            yield _Step(request)
            return
        key = _request_key(request)
        sent = yield from self._authorize_up_front(request, key)
        response = yield _Step(request)
        if response.status_code != 401:
            return
        challenge = self._select_challenge(response)
        replayable = _has_replayable_body(request)
        if challenge.scheme == "basic":
            credentials = self.credentials
            if credentials is None or not (credentials.username or credentials.password):
                raise AuthError(f"no basic auth credentials for {self.registry}", hint=self._login_hint())
            if sent.basic:
                raise self._unauthorized()
            self._refuse_plain_http(request.url, "the password")
            with self._lock:
                self._use_basic = True
            if not replayable:
                return  # the caller sends again with a fresh body; Basic then goes up front
            request.headers["Authorization"] = _basic(credentials)
            response = yield _Step(request)
            if response.status_code == 401:
                raise self._unauthorized()
            return
        scopes = challenge_scopes(challenge)
        if sent.fresh and sent.scopes == frozenset(scopes):
            # A token fetched just now for exactly this scope was refused: another one would be too.
            raise self._refused_token(response, scopes)
        with self._lock:
            self._learned[key] = challenge
            if sent.token is not None:
                self._tokens.forget(sent.token)
        if not replayable:
            return  # learned: the caller's next attempt fetches the token first (see the module docstring)
        token = yield from self._bearer_token(challenge, scopes, request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield _Step(request)
        if response.status_code == 401:
            raise self._refused_token(response, scopes)

    def _authorize_up_front(
        self, request: httpx.Request, key: tuple[str, str]
    ) -> Generator[_Step, httpx.Response, _Sent]:
        """Attach what earlier challenges taught us, before the registry has to ask again.

        Basic once the registry asked for it; else a valid cached token for the scope the registry asked for
        this kind of request, or any cached token covering it; else, when the challenge is known but its token
        expired or was refused, a fresh token fetched first.
        """
        request.headers.pop("Authorization", None)
        now = self._clock()
        with self._lock:
            if self._use_basic and self.credentials is not None:
                request.headers["Authorization"] = _basic(self.credentials)
                return _Sent(basic=True)
            learned = self._learned.get(key)
            learned_scopes = frozenset(challenge_scopes(learned)) if learned is not None else None
            found: tuple[frozenset[str], str] | None = None
            if learned_scopes is not None:
                value = self._tokens.valid(learned_scopes, now)
                if value is not None:
                    found = (learned_scopes, value)
            guess = guess_scope(key)
            if found is None and guess is not None:
                found = self._tokens.covering(guess, now)
        if found is not None:
            request.headers["Authorization"] = f"Bearer {found[1]}"
            return _Sent(token=found[1], scopes=found[0])
        if learned is None or learned_scopes is None:
            with self._lock:
                pinged = self._ping_challenge
            if pinged is None or guess is None:
                return _Sent()
            # Not challenged for this yet, but the ping named the token service: ask it for the scope distribution
            # would ask for (a wrong guess costs the 401 it saves).
            scopes = [scope_text(guess)]
            token = yield from self._bearer_token(pinged, scopes, request)
            request.headers["Authorization"] = f"Bearer {token}"
            return _Sent(token=token, scopes=frozenset(scopes), fresh=True)
        token = yield from self._bearer_token(learned, challenge_scopes(learned), request)
        request.headers["Authorization"] = f"Bearer {token}"
        return _Sent(token=token, scopes=learned_scopes, fresh=True)

    def _select_challenge(self, response: httpx.Response) -> Challenge:
        values = response.headers.get_list("www-authenticate")
        if not values:
            raise AuthError(
                f"{self.registry} answered 401 Unauthorized but sent no challenge (no WWW-Authenticate header)",
                hint="the registry did not say how to authenticate; check the registry address and its auth "
                "configuration, or report it to its operator",
            )
        challenges = parse_challenges(values)
        # Prefer Bearer: it keeps the password away from the registry itself.
        for scheme in ("bearer", "basic"):
            for challenge in challenges:
                if challenge.scheme == scheme:
                    return challenge
        schemes = ", ".join(sorted({c.scheme for c in challenges}))
        raise AuthError(
            f"{self.registry} asks for {schemes} authentication, which supplychain does not support",
            hint="supplychain answers Basic and Bearer token challenges (distribution token auth)",
        )

    def _bearer_token(
        self, challenge: Challenge, scopes: list[str], request: httpx.Request
    ) -> Generator[_Step, httpx.Response, str]:
        """A token for ``scopes``: from the cache, else from the token service (yielded as a request).

        One fetch per scope at a time: concurrent requests that all met the same challenge (the first images of a
        ``verify`` of several) wait for the first one's token instead of each asking the token service. The wait
        is bounded (``TOKEN_WAIT``): a fetch that hangs delays the others, never blocks them for good.
        """
        key = frozenset(scopes)
        with self._lock:
            cached = self._tokens.valid(key, self._clock())
            fetching = self._fetching.setdefault(key, threading.Lock())
        if cached is not None:
            return cached
        held = fetching.acquire(timeout=TOKEN_WAIT)
        try:
            with self._lock:
                cached = self._tokens.valid(key, self._clock())  # fetched by the one we waited for
            if cached is not None:
                return cached
            return (yield from self._fetch_token(challenge, scopes, request, key))
        finally:
            if held:
                fetching.release()

    def _fetch_token(
        self, challenge: Challenge, scopes: list[str], request: httpx.Request, key: frozenset[str]
    ) -> Generator[_Step, httpx.Response, str]:
        realm = self._checked_realm(challenge)
        if self.credentials is not None:
            # The token stands for the credentials: it must not travel in the clear either.
            self._refuse_plain_http(request.url, "a token obtained with the credentials")
            self._refuse_plain_http(realm, "the credentials")
        ask = self._token_request(realm, challenge.param("service"), scopes, request)
        started = self._clock()
        response = yield _Step(ask, is_token_request=True)
        token, lifetime = self._read_token_answer(response, realm)
        with self._lock:
            self._tokens.put(key, token, started=started, lifetime=lifetime)
        return token

    def _token_request(
        self, realm: httpx.URL, service: str | None, scopes: list[str], original: httpx.Request
    ) -> httpx.Request:
        credentials = self.credentials  # resolves them, and the identity token they may hold
        with self._lock:
            refresh_token = self._refresh_token
        return token_request(
            realm, service, scopes,
            user_agent=original.headers.get("User-Agent"),
            refresh_token=refresh_token,
            account=credentials.username if credentials is not None else None,
            authorization=_basic(credentials) if credentials is not None else None,
        )

    def _read_token_answer(self, response: httpx.Response, realm: httpx.URL) -> tuple[str, float]:
        if response.status_code in (401, 403):  # about the credentials: said as the registry's refusal
            detail = error_detail(response)
            if self.credentials is None:
                raise AuthError(
                    f"unauthorized: authentication required: the token service {display_url(realm)} refused "
                    f"anonymous access{detail}",
                    hint=self._login_hint(),
                )
            raise self._unauthorized(detail)
        answer = parse_token_answer(response, realm)
        if answer.refresh_token is not None:
            with self._lock:
                if self._refresh_token:  # oauth.md: the service may rotate the refresh token
                    self._refresh_token = answer.refresh_token
        return answer.token, answer.lifetime

    # -- safety ----------------------------------------------------------------------------------------------

    def _checked_realm(self, challenge: Challenge) -> httpx.URL:
        """The token realm as a URL, if it is safe to send a token request (and maybe credentials) there."""
        raw = challenge.param("realm")
        if not raw:
            raise MalformedChallengeError(f"the Bearer challenge of {self.registry} names no realm (token service)")
        try:
            realm = httpx.URL(raw)
        except httpx.InvalidURL as exc:
            raise MalformedChallengeError(f"the token realm of {self.registry} is not a URL: {raw!r}") from exc
        shown = display_raw(raw)
        hint = (
            "the registry pointed the client at a token service we will not call; if this is your own "
            "registry, serve its token service over HTTPS on a public DNS name or on the registry's own host"
        )
        if realm.scheme not in ("http", "https"):
            raise UnsafeRequestError(
                f"refusing token realm {shown} of {self.registry}: scheme {realm.scheme!r} is not http or https",
                hint=hint,
            )
        if not realm.host:
            raise MalformedChallengeError(f"the token realm of {self.registry} has no host: {raw!r}")
        if realm.userinfo:
            raise UnsafeRequestError(
                f"refusing token realm of {self.registry}: the URL carries user information", hint=hint
            )
        if self.origin.scheme == "https" and realm.scheme == "http":
            raise UnsafeRequestError(
                f"refusing token realm {shown} of {self.registry}: it downgrades HTTPS to plain HTTP", hint=hint
            )
        if realm.host.lower().rstrip(".") == self.origin.host.lower().rstrip("."):
            return realm  # the registry's own host: it already has the credentials
        # By name and by every resolved address (issue 7, item 2): a realm "https://localhost:PORT/" or a name
        # that resolves into the local network is as much a pivot as the IP literal. The connection resolves the
        # name again; a resolver that answers differently the second time (DNS rebinding) is outside this check.
        for address in host_addresses(realm.host, self._resolve):
            if not is_public(address) and not self._is_own_host(realm.host, address):
                via = "" if ip_literal(realm.host) is not None else f"{realm.host} resolves to "
                raise UnsafeRequestError(
                    f"refusing token realm {shown} of {self.registry}: {via}{address} is a "
                    f"{address_kind(address)} address, not the registry's own host",
                    hint=hint,
                )
        return realm

    def _is_own_host(self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        own = ip_literal(self.origin.host)
        if own is not None and own == address:
            return True
        if host.lower() == self.origin.host:
            return True
        # Both on this machine (a registry on localhost:5000 with its token service on 127.0.0.1:5001).
        return is_loopback_address(address) and is_loopback(self.origin.host, self._resolve)

    def _refuse_plain_http(self, url: httpx.URL, what: str) -> None:
        if url.scheme == "http" and not is_loopback(url.host, self._resolve):
            raise UnsafeRequestError(
                f"refusing to send {what} for {self.registry} over plain HTTP to {url.host}",
                hint="serve the registry (and its token service) over HTTPS, with --ca-file for a private CA; "
                "only loopback registries may receive credentials over plain HTTP",
            )

    # -- errors ----------------------------------------------------------------------------------------------

    def _login_hint(self) -> str:
        target = "" if self.registry == DOCKER_HUB else f" {self.registry}"
        return f"log in first: supplychain login{target}"

    def _unauthorized(self, detail: str = "") -> AuthError:
        credentials = self.credentials
        who = "the saved identity token" if credentials and credentials.identity_token else (
            f"the credentials of user {credentials.username!r}" if credentials else "anonymous access"
        )
        target = "" if self.registry == DOCKER_HUB else f" {self.registry}"
        return AuthError(
            f"unauthorized: authentication required: {self.registry} refused {who}{detail}",
            hint=f"check the user name and password (supplychain login{target}), or the account's permissions",
        )

    def _refused_token(self, response: httpx.Response, scopes: list[str]) -> AuthError:
        """A 401 to a request carrying a fresh token: denied (insufficient scope) or unauthorized."""
        error = ""
        try:
            for challenge in parse_challenges(response.headers.get_list("www-authenticate")):
                error = challenge.param("error") or error
        except MalformedChallengeError:
            pass
        if error != "insufficient_scope":
            return self._unauthorized()
        wanted = " ".join(scopes) or "the registry"
        if self.credentials is None:
            return AuthError(
                f"denied: requested access to the resource is denied ({wanted})",
                hint=f"the repository may not exist, or may need credentials: {self._login_hint()}",
            )
        return AuthError(
            f"denied: requested access to the resource is denied ({wanted})",
            hint="the account lacks this permission on the repository; check its permissions or log in as "
            "another user",
        )


# -- helpers ---------------------------------------------------------------------------------------------------


def _basic(credentials: Credentials) -> str:
    """RFC 7617 section 2: ``Basic base64(user-id ":" password)``, UTF-8 (section 2.1 charset)."""
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _request_key(request: httpx.Request) -> tuple[str, str]:
    """The repository (or path) a request acts on and the kind of access it needs."""
    path = request.url.path
    match = _REPOSITORY_PATH.match(path)
    resource = match.group("name") if match else path
    method = request.method.upper()
    if method in ("GET", "HEAD"):
        access = "pull"
    elif method == "DELETE":
        access = "delete"
    else:
        access = "push"
    return resource, access


def _has_replayable_body(request: httpx.Request) -> bool:
    """Whether the body is held in memory, so the request can be sent again after a 401."""
    try:
        request.content  # noqa: B018 - raises RequestNotRead for a one-shot stream
    except httpx.RequestNotRead:
        return False
    return True
