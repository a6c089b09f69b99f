"""The HTTP side of the OCI distribution client: one registry host, its scheme, requests, redirects, pages.

``RegistryClient`` owns what is true of a whole registry: which scheme it speaks (HTTPS, or plain HTTP only for
loopback and listed insecure hosts, discovered once by a ping of ``/v2/``), the retry policy, how redirects
are followed without leaking credentials, how ``Location`` and ``Link`` URLs are checked, and whether it has the
referrers API. ``RegistryRepository`` (``supplychain.registry.repository``) builds the distribution API on it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from supplychain.config import Settings
from supplychain.errors import (
    InvalidInputError,
    RegistryError,
    SizeLimitError,
    TLSError,
    UnavailableError,
    UnsafeRequestError,
)
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.registry.errors import MAX_ERROR_BODY, Action, registry_error
from supplychain.registry.paging import MAX_PAGE_BYTES, next_link, paginate
from supplychain.registry.tagsnapshot import TagSnapshots
from supplychain.transport import (
    RetryPolicy,
    allows_plain_http,
    build_client,
    certificate_error,
    is_insecure,
    map_transport_error,
    redact_url,
    release,
    send,
    timed_out,
    tls_peer_answered,
    url_host,
)

if TYPE_CHECKING:
    from supplychain.registry.repository import RegistryRepository

logger = logging.getLogger("supplychain.registry")

# RFC 9110 section 15.4; a registry redirects blob reads to storage (distribution spec "Pulling blobs").
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# Registries must not compress what we hash (a blob's bytes are its identity); ask for them as stored.
IDENTITY = {"Accept-Encoding": "identity"}


@dataclass(frozen=True, slots=True)
class PingResult:
    """What ``GET /v2/`` said (distribution spec "Determining support"): 200 open, 401 needs auth."""

    scheme: str
    status: int
    api_version: str | None
    challenge: str | None


class RegistryClient:
    """A client for one registry host (``host[:port]``; Docker Hub is ``registry-1.docker.io``).

    ``client`` is the ``httpx.Client`` to use (default: ``transport.build_client``; tests pass one with an
    ``httpx.MockTransport``). ``auth`` answers 401 challenges for this registry's origin only; it is never
    used for a redirect, upload or page on another origin. ``sleep`` is called between retries.
    ``scheme`` skips discovery when already known.
    """

    def __init__(
        self,
        host: str,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        auth: httpx.Auth | None = None,
        sleep: Callable[[float], None] = time.sleep,
        scheme: str | None = None,
    ) -> None:
        if scheme not in (None, "https", "http"):
            raise InvalidInputError(f"unknown scheme {scheme!r} for {host}", hint="use https or http")
        if scheme == "http" and not allows_plain_http(host, settings):
            raise UnsafeRequestError(
                f"refusing plain HTTP to {host}: it is neither loopback nor listed as insecure",
                hint=f"use HTTPS, or list it in SUPPLYCHAIN_INSECURE_REGISTRIES if it is a test registry ({host})",
            )
        self.host = host
        self.settings = settings
        self.auth = auth
        self.sleep = sleep
        self.retry = RetryPolicy.from_settings(settings, sleep=sleep)
        self._http = client if client is not None else build_client(
            settings, host, insecure=is_insecure(host, settings)
        )
        # A client we built is closed by close(), or, as a safety net for callers that never call it, when
        # this object is garbage collected (its pooled sockets would otherwise leak).
        self._close = weakref.finalize(self, self._http.close) if client is None else None
        self._scheme = scheme
        self._ping: PingResult | None = None
        self._lock = threading.Lock()
        # OCI distribution 1.1 referrers API: None until asked, then remembered for this client (for the run, when a
        # ``RegistryPool`` shares it: every repository of the registry).
        self.referrers_api: bool | None = None
        self.in_flight = InFlightCap(settings.concurrency)
        self.tag_snapshots = TagSnapshots()  # which tags each repository has, listed once when it pays

    # -- life cycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the ``httpx.Client`` if this object built it (idempotent)."""
        if self._close is not None:
            self._close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- scheme and ping ---------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``https``, or ``http`` for a loopback/insecure host that does not speak TLS (discovered once)."""
        if self._scheme is None:
            self._discover()
        assert self._scheme is not None
        return self._scheme

    @property
    def anonymous(self) -> bool:
        """Whether requests go out without credentials (turns a 401 into "no basic auth credentials")."""
        return self.auth is None or getattr(self.auth, "credentials", True) is None

    def ping(self) -> PingResult:
        """``GET /v2/`` without credentials: check that this is a distribution API (200 or 401)."""
        scheme = self.scheme  # discovery pings loopback and insecure hosts already
        if self._ping is None:
            self._ping = self._ping_at(scheme)
        return self._ping

    @property
    def pinged(self) -> PingResult | None:
        """What ``GET /v2/`` answered, if it was asked already (scheme discovery asks it), without asking it."""
        return self._ping

    def _discover(self) -> None:
        with self._lock:
            if self._scheme is not None:
                return
            if not allows_plain_http(self.host, self.settings):
                self._scheme = "https"
                return
            # Loopback and insecure hosts: HTTPS first, plain HTTP when the peer does not speak TLS
            # (what docker does for insecure registries). A certificate problem is not "no TLS": raise it.
            try:
                self._ping = self._ping_at("https")
                self._scheme = "https"
                return
            except RegistryError:
                raise
            except UnavailableError as exc:
                if isinstance(exc, TLSError) and (certificate_error(exc) or tls_peer_answered(exc)):
                    raise
                if timed_out(exc):  # silent, not plain HTTP: fail in one timeout, not two
                    raise
                logger.debug("%s: https failed (%s); trying plain http", self.host, exc)
            self._ping = self._ping_at("http")
            self._scheme = "http"

    def _ping_at(self, scheme: str) -> PingResult:
        url = httpx.URL(f"{scheme}://{self.host}/v2/")
        what = f"registry {self.host}"
        with self.open("GET", url, what=what, action=Action.PING, expect=(200, 401, 404),
                       authenticate=False, follow=False) as response:
            version = response.headers.get("Docker-Distribution-API-Version")
            if response.status_code == 404 or (version is not None and not version.startswith("registry/2.0")):
                raise RegistryError(
                    f"{self.host} does not serve the OCI distribution API v2 "
                    f"(GET /v2/ answered {response.status_code}{f', API version {version}' if version else ''})",
                    hint="check the registry address (and port)",
                )
            return PingResult(scheme, response.status_code, version, response.headers.get("WWW-Authenticate"))

    # -- URLs ------------------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, str] | None = None) -> httpx.URL:
        """An absolute URL on this registry for ``path`` (``/v2/...``)."""
        url = httpx.URL(f"{self.scheme}://{self.host}{path}")
        return url.copy_merge_params(dict(params)) if params else url

    def follow_link(self, base: httpx.URL, target: str, *, what: str) -> httpx.URL:
        """Resolve an upload ``Location`` or a pagination ``Link`` against ``base``; refuse another origin.

        The registry's credentials and session state must not be handed to another host, scheme or port
        (issue 2, item 4 "safety"), so such a URL is an ``UnsafeRequestError`` rather than a request.
        """
        try:
            resolved = base.join(target)
        except httpx.InvalidURL as exc:
            raise RegistryError(f"{what}: the registry sent an invalid URL {target!r}",
                                hint="the registry answered outside the distribution spec") from exc
        if _origin(resolved) != _origin(base):
            raise UnsafeRequestError(
                f"{what}: refusing to follow the registry to {redact_url(resolved)} "
                f"(another host, scheme or port than {_origin_text(base)})",
                hint="a registry's upload or paging URLs must stay on its origin; this one may be misconfigured "
                "or hostile",
            )
        return resolved

    # -- requests ------------------------------------------------------------------------------------

    @contextmanager
    def open(
        self,
        method: str,
        url: httpx.URL,
        *,
        what: str,
        action: Action,
        expect: Collection[int],
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        replayable: bool | None = None,
        authenticate: bool = True,
        follow: bool = True,
    ) -> Iterator[httpx.Response]:
        """Send a request (retries, redirects) and yield the streaming response if its status is in ``expect``.

        Any other status is read (capped) and raised as the mapped distribution error. Redirects are followed
        at most ``MAX_REDIRECTS`` times; a hop to another origin goes without credentials, and https to http
        is refused. The response is closed when the block ends.
        """
        with self.in_flight.slot():
            response = self._exchange(method, url, headers=headers, content=content, replayable=replayable,
                                      authenticate=authenticate, follow=follow, what=what)
            try:
                if response.status_code not in expect:
                    body = self.read(response, limit=MAX_ERROR_BODY, what=what, truncate=True)
                    raise registry_error(response.status_code, body, what=what, action=action,
                                         host=self.host, anonymous=self.anonymous or not authenticate)
                yield response
            finally:
                _drain(response)
                release(response)

    def _exchange(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | Iterator[bytes] | None,
        replayable: bool | None,
        authenticate: bool,
        follow: bool,
        what: str,
    ) -> httpx.Response:
        request = self._http.build_request(method, url, headers={**IDENTITY, **(headers or {})}, content=content)
        auth = self.auth if authenticate else None
        origin = _origin(url)
        for hop in range(MAX_REDIRECTS + 1):
            response = send(self._http, request, auth=auth, policy=self.retry, replayable=replayable,
                            certs_dir=self.settings.certs_dir)
            location = response.headers.get("Location")
            if not follow or response.status_code not in REDIRECT_STATUSES or not location:
                return response
            release(response)
            if hop == MAX_REDIRECTS:
                raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects",
                                    hint="the registry or its storage redirects in a loop; report it")
            request = self._redirect(request, response.status_code, location, what=what)
            if _origin(request.url) != origin:
                # RFC 9110 section 15.4 leaves it to us; docker and oras agree: never forward credentials
                # to another origin (blob storage URLs are pre-signed and need none).
                auth = None
        raise AssertionError("unreachable")

    def _redirect(self, request: httpx.Request, status: int, location: str, *, what: str) -> httpx.Request:
        try:
            target = request.url.join(location)
        except httpx.InvalidURL as exc:
            raise RegistryError(f"{what}: redirect to an invalid URL {location!r}",
                                hint="the registry answered outside the spec") from exc
        if target.scheme not in ("http", "https"):
            raise UnsafeRequestError(f"{what}: refusing a redirect to a {target.scheme!r} URL",
                                     hint="the registry may be misconfigured or hostile")
        if request.url.scheme == "https" and target.scheme == "http":
            raise UnsafeRequestError(
                f"{what}: refusing a redirect from https to plain http ({redact_url(target)})",
                hint="the registry or its storage downgrades TLS; ask its operator to serve HTTPS",
            )
        if target.scheme == "http" and not allows_plain_http(url_host(target), self.settings):
            raise UnsafeRequestError(
                f"{what}: refusing a redirect to plain http on {url_host(target)}",
                hint="plain HTTP is allowed only for loopback and hosts in SUPPLYCHAIN_INSECURE_REGISTRIES",
            )
        method = request.method
        content: bytes | None = request.content if isinstance(request.stream, httpx.ByteStream) else None
        if status == 303 and method != "HEAD":
            method, content = "GET", None
        elif status in (301, 302) and method not in ("GET", "HEAD"):
            raise RegistryError(f"{what}: the registry redirected a {method} with HTTP {status}",
                                hint="the registry answered outside the distribution spec")
        elif content is None and request.method not in ("GET", "HEAD"):
            raise RegistryError(f"{what}: cannot replay a streamed upload across a redirect",
                                hint="set a chunk size so uploads are sent in replayable chunks")
        # Host, credentials and cookies belong to the old URL; httpx sets Host from the new one.
        dropped = {"host", "authorization", "cookie", "content-length"}
        if method != request.method:
            dropped |= {"content-type", "content-range"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        return self._http.build_request(method, target, headers=headers, content=content)

    def read(self, response: httpx.Response, *, limit: int, what: str, truncate: bool = False) -> bytes:
        """Read a response body of at most ``limit`` bytes (HTTP-decoded); refuse more before reading it all.

        With ``truncate`` the excess is dropped instead (error bodies, which only serve a message).
        """
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise SizeLimitError(f"{what} is {declared} bytes, over the {limit}-byte limit",
                                 hint="the registry sent more than a document of this kind may hold")
        out = bytearray()
        for chunk in self.iter_body(response, raw=False):
            out += chunk
            if len(out) > limit:
                if truncate:
                    return bytes(out[:limit])
                raise SizeLimitError(f"{what} is over the {limit}-byte limit",
                                     hint="the registry sent more than a document of this kind may hold")
        return bytes(out)

    def iter_body(self, response: httpx.Response, *, raw: bool) -> Iterator[bytes]:
        """The body's chunks (``raw``: as sent, for blobs), with transport failures mapped once."""
        if raw and response.is_stream_consumed:
            # A transport may hand over a response already read into memory (httpx.MockTransport does).
            yield response.content
            return
        try:
            yield from (response.iter_raw() if raw else response.iter_bytes())
        except httpx.HTTPError as exc:
            raise map_transport_error(exc, host=url_host(response.request.url),
                                      certs_dir=self.settings.certs_dir) from exc

    # -- pages -------------------------------------------------------------------------------------

    def list_pages(self, first: httpx.URL, key: str, *, what: str) -> Iterator[str]:
        """The strings under ``key`` of every page of a ``Link``-paginated listing (tags, catalog)."""

        def fetch(url_text: str) -> tuple[list[str], str | None]:
            url = httpx.URL(url_text)
            with self.open("GET", url, what=what, action=Action.LIST, expect=(200,),
                           headers={"Accept": "application/json"}) as response:
                doc = _json_object(self.read(response, limit=MAX_PAGE_BYTES, what=what), what=what)
                link = next_link(response.headers.get("Link"))
            items = doc.get(key)
            if items is None:
                items = []
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise RegistryError(f"{what}: {key!r} is not a list of strings",
                                    hint="the registry answered outside the distribution spec")
            following = str(self.follow_link(url, link, what=what)) if link is not None else None
            return items, following

        return paginate(str(first), fetch, max_pages=self.settings.max_pages, what=what)

    def catalog(self, *, page_size: int | None = None) -> Iterator[str]:
        """Every repository name the registry lists (``GET /v2/_catalog``, paginated lazily)."""
        params = {"n": str(page_size)} if page_size else None
        return self.list_pages(self.url("/v2/_catalog", params), "repositories", what=f"catalog of {self.host}")

    def repository(self, name: str) -> RegistryRepository:
        """The ``ArtifactStore`` for repository ``name`` (e.g. ``library/alpine``) on this registry."""
        from supplychain.registry.repository import RegistryRepository

        return RegistryRepository(self, name)


class InFlightCap:
    """At most ``limit`` requests in flight to one registry (``Settings.concurrency``, ``--concurrency``), however
    many threads share its client: a request holds a slot from before it is sent until its response is closed.

    A thread that already holds a slot opens further requests on it (a blob streamed from one repository into
    another of the same registry holds the read open while it uploads): waiting for a second slot could deadlock
    at a cap of 1, and such a thread adds no parallel load."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._held = threading.local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot (or ride on the one this thread holds) for the block."""
        depth: list[int] | None = getattr(self._held, "depth", None)
        if depth is None:
            depth = self._held.depth = [0]
        if depth[0] == 0:
            self._slots.acquire()
        depth[0] += 1
        try:
            yield
        finally:  # the counter of the thread that took the slot, even if another thread closes the block
            depth[0] -= 1
            if depth[0] == 0:
                self._slots.release()


def _drain(response: httpx.Response) -> None:
    """Read what is left of a small body so the connection goes back to the pool (an unread body, even an
    empty one, makes httpcore close it: a new TCP and TLS handshake for every upload request otherwise)."""
    declared = response.headers.get("Content-Length", "")
    if response.is_stream_consumed or not declared.isdigit() or int(declared) > MAX_ERROR_BODY:
        return
    try:
        for _ in response.iter_raw():
            pass
    except httpx.HTTPError:
        pass  # the connection is dropped instead; nothing to report while cleaning up


def _json_object(raw: bytes, *, what: str) -> dict[str, Any]:
    try:
        doc = loads_untrusted(raw)
    except JsonFormatError as exc:
        raise RegistryError(f"{what}: the registry answered with invalid JSON ({exc})",
                            hint="the registry answered outside the distribution spec") from exc
    if not isinstance(doc, dict):
        raise RegistryError(f"{what}: the registry answered with JSON that is not an object",
                            hint="the registry answered outside the distribution spec")
    return doc


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, effective port): RFC 6454 origin."""
    port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
    return url.scheme, url.host.lower(), port


def _origin_text(url: httpx.URL) -> str:
    return f"{url.scheme}://{url_host(url)}"

