"""``RegistryAuth`` against ``httpx.MockTransport`` registries: Basic, Bearer tokens, caching, expiry, safety.

Real-server behaviour is proven in ``tests/integration/test_auth_*``; here we drive what a real server cannot be
made to do: hostile realms, broken token services, clock jumps.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest

from supplychain.errors import AuthError, ConfigurationError, ExitCode, UnsafeRequestError
from supplychain.registry.address import IPAddress
from supplychain.registry.auth import RegistryAuth
from supplychain.registry.challenge import MalformedChallengeError
from supplychain.registry.credentials import Credentials
from supplychain.registry.token import CLIENT_ID, MAX_TOKEN_RESPONSE_BYTES, TokenServiceError

REGISTRY = "registry.example.com"
BASE = f"https://{REGISTRY}"
REALM = "https://auth.example.com/token"
SERVICE = "registry.example.com"
USER = Credentials("alice", "TEST-ONLY-secret")


@dataclass(frozen=True)
class Seen:
    """A snapshot of a request as it was sent (the flow mutates and resends the same Request object)."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    content: bytes | None

    @classmethod
    def of(cls, request: httpx.Request) -> Seen:
        try:
            content: bytes | None = request.content
        except httpx.RequestNotRead:
            content = None
        return cls(request.method, request.url, request.headers.copy(), content)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Clock:
    """An injected monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TokenRegistry:
    """A registry behind a token service, both answering through one MockTransport.

    The registry demands ``repository:<name>:pull`` (or ``pull,push`` for writes) and accepts tokens it issued
    for a covering scope; ``token_answer`` may be replaced to make the token service misbehave.
    """

    realm: str = REALM
    registry: str = BASE
    password: str = USER.password
    expires_in: int | None = 300
    requests: list[Seen] = field(default_factory=list)
    issued: dict[str, frozenset[str]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    token_answer: Callable[[httpx.Request], httpx.Response] | None = None
    challenge_extra: str = ""

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(Seen.of(request))
        if str(request.url).startswith(self.realm.split("?")[0]):
            return (self.token_answer or self.issue)(request)
        return self.serve(request)

    # -- token service ---------------------------------------------------------------------------------------
    def issue(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            form = parse_qs(request.content.decode())
            scopes = frozenset(form.get("scope", [""])[0].split())
        else:
            scopes = frozenset(request.url.params.get_list("scope"))
            auth = request.headers.get("Authorization")
            if auth is not None and auth != basic(USER.username, self.password):
                return httpx.Response(401, json={"details": "incorrect username or password"})
        token = f"tok{len(self.issued) + 1}"
        self.issued[token] = scopes
        body: dict[str, object] = {"token": token}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)

    # -- registry --------------------------------------------------------------------------------------------
    def needed(self, request: httpx.Request) -> str | None:
        parts = request.url.path.split("/")
        if request.url.path == "/v2/":
            return None
        name = "/".join(parts[2:-2]) if "uploads" not in parts else "/".join(parts[2:-3])
        action = "pull" if request.method in ("GET", "HEAD") else "pull,push"
        return f"repository:{name}:{action}"

    def serve(self, request: httpx.Request) -> httpx.Response:
        scope = self.needed(request)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
            if token in self.issued and token not in self.revoked and (
                scope is None or scope in self.issued[token] or self._covers(self.issued[token], scope)
            ):
                return httpx.Response(201 if request.method in ("PUT", "POST") else 200, json={})
            error = ',error="insufficient_scope"' if token in self.issued else ',error="invalid_token"'
        else:
            error = ""
        challenge = f'Bearer realm="{self.realm}",service="{SERVICE}"'
        if scope:
            challenge += f',scope="{scope}"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge + error + self.challenge_extra})

    @staticmethod
    def _covers(granted: frozenset[str], scope: str) -> bool:
        name, actions = scope.rsplit(":", 1)
        return any(g.rsplit(":", 1)[0] == name and set(actions.split(",")) <= set(g.rsplit(":", 1)[1].split(","))
                   for g in granted)

    def token_requests(self) -> list[Seen]:
        return [r for r in self.requests if str(r.url).startswith(self.realm.split("?")[0])]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server() -> TokenRegistry:
    return TokenRegistry()


@pytest.fixture
def client(server: TokenRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(server.handler), headers={"User-Agent": "supplychain/test"}) as c:
        yield c


def basic_registry(password: str = USER.password) -> tuple[list[Seen], httpx.Client]:
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        if request.headers.get("Authorization") == basic(USER.username, password):
            return httpx.Response(200, json={})
        return httpx.Response(
            401,
            headers={"WWW-Authenticate": 'Basic realm="Registry Realm"'},
            json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
        )

    return seen, httpx.Client(transport=httpx.MockTransport(handler))


# -- Basic ------------------------------------------------------------------------------------------------------


def test_anonymous_request_that_needs_no_auth_is_sent_once_without_credentials():
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        assert c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER)).status_code == 200
    assert len(seen) == 1
    assert "Authorization" not in seen[0].headers


def test_basic_challenge_is_answered_once_then_credentials_go_up_front():
    seen, c = basic_registry()
    auth = RegistryAuth(REGISTRY, USER)
    with c:
        assert c.get(f"{BASE}/v2/", auth=auth).status_code == 200
        assert [r.headers.get("Authorization") for r in seen] == [None, basic("alice", "TEST-ONLY-secret")]
        assert c.get(f"{BASE}/v2/x/manifests/latest", auth=auth).status_code == 200
    assert len(seen) == 3  # no second challenge round-trip


def test_basic_challenge_without_credentials_says_no_basic_auth_credentials():
    _, c = basic_registry()
    with c, pytest.raises(AuthError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, None))
    assert "no basic auth credentials" in info.value.message
    assert "supplychain login registry.example.com" in info.value.hint
    assert info.value.exit_code == ExitCode.AUTH


def test_docker_hub_login_hint_names_no_registry():
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c, pytest.raises(AuthError) as info:
        c.get("https://registry-1.docker.io/v2/", auth=RegistryAuth("docker.io", None))
    assert info.value.hint.endswith("supplychain login")


def test_refused_basic_credentials_are_unauthorized_after_one_retry():
    seen, c = basic_registry(password="other")
    with c, pytest.raises(AuthError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert len(seen) == 2
    assert "unauthorized: authentication required" in info.value.message
    assert "alice" in info.value.message
    assert "TEST-ONLY-secret" not in info.value.message + info.value.hint
    assert "user name and password" in info.value.hint and "permissions" in info.value.hint


# -- Bearer -----------------------------------------------------------------------------------------------------


def test_bearer_token_request_carries_service_scope_account_and_basic_credentials(
    server: TokenRegistry, client: httpx.Client
):
    response = client.get(f"{BASE}/v2/team/app/manifests/1.0", auth=RegistryAuth(REGISTRY, USER))
    assert response.status_code == 200
    (token_request,) = server.token_requests()
    assert token_request.method == "GET"
    assert token_request.url.params.get("service") == SERVICE
    assert token_request.url.params.get_list("scope") == ["repository:team/app:pull"]
    assert token_request.url.params.get("account") == "alice"
    assert token_request.headers["Authorization"] == basic("alice", "TEST-ONLY-secret")
    assert token_request.headers["User-Agent"] == "supplychain/test"  # same client identity
    assert server.requests[-1].headers["Authorization"] == "Bearer tok1"


def test_anonymous_token_request_has_no_authorization(server: TokenRegistry, client: httpx.Client):
    assert client.get(f"{BASE}/v2/lib/x/blobs/sha256:00", auth=RegistryAuth(REGISTRY, None)).status_code == 200
    (token_request,) = server.token_requests()
    assert "Authorization" not in token_request.headers
    assert "account" not in token_request.url.params


def test_several_scopes_are_requested_as_separate_parameters(server: TokenRegistry, client: httpx.Client):
    # A cross-repository mount challenge names both repositories (space separated, token.md).
    server.challenge_extra = ""
    original = server.serve

    def serve(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return httpx.Response(201)
        return httpx.Response(401, headers={"WWW-Authenticate": (
            f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:a:pull,push repository:b:pull"')})

    server.serve = serve  # type: ignore[method-assign]
    try:
        client.post(f"{BASE}/v2/a/blobs/uploads/?mount=sha256:00&from=b", auth=RegistryAuth(REGISTRY, USER))
    finally:
        server.serve = original  # type: ignore[method-assign]
    (token_request,) = server.token_requests()
    assert token_request.url.params.get_list("scope") == ["repository:a:pull,push", "repository:b:pull"]


def test_tokens_are_cached_per_scope_and_used_up_front(server: TokenRegistry, client: httpx.Client):
    auth = RegistryAuth(REGISTRY, USER)
    for digest in ("sha256:01", "sha256:02", "sha256:03"):
        assert client.get(f"{BASE}/v2/team/app/blobs/{digest}", auth=auth).status_code == 200
    assert client.head(f"{BASE}/v2/team/app/manifests/v1", auth=auth).status_code == 200
    assert len(server.token_requests()) == 1
    # Only the first registry request met a challenge; the rest carried the token up front.
    registry_requests = [r for r in server.requests if r.url.host == REGISTRY]
    assert [r.headers.get("Authorization") for r in registry_requests] == [None] + ["Bearer tok1"] * 4
    # Another repository is another scope: one more token.
    assert client.get(f"{BASE}/v2/team/other/manifests/v1", auth=auth).status_code == 200
    assert len(server.token_requests()) == 2


def test_a_push_token_covers_later_pulls_of_the_same_repository(server: TokenRegistry, client: httpx.Client):
    auth = RegistryAuth(REGISTRY, USER)
    assert client.post(f"{BASE}/v2/team/app/blobs/uploads/", auth=auth).status_code == 201
    assert client.get(f"{BASE}/v2/team/app/manifests/v1", auth=auth).status_code == 200
    assert len(server.token_requests()) == 1


def test_a_pull_token_is_not_used_for_a_push(server: TokenRegistry, client: httpx.Client):
    auth = RegistryAuth(REGISTRY, USER)
    client.get(f"{BASE}/v2/team/app/manifests/v1", auth=auth)
    assert client.put(f"{BASE}/v2/team/app/manifests/v1", content=b"{}", auth=auth).status_code == 201
    scopes = [r.url.params.get_list("scope") for r in server.token_requests()]
    assert scopes == [["repository:team/app:pull"], ["repository:team/app:pull,push"]]


def test_expires_in_is_honoured_and_tokens_refresh_early(server: TokenRegistry, client: httpx.Client, clock: Clock):
    server.expires_in = 60
    auth = RegistryAuth(REGISTRY, USER, clock=clock)
    url = f"{BASE}/v2/team/app/manifests/v1"
    client.get(url, auth=auth)
    clock.now += 45
    client.get(url, auth=auth)
    assert len(server.token_requests()) == 1
    clock.now += 6  # 51 s: within 10 s of expiry, refresh before the token can die in flight
    client.get(url, auth=auth)
    assert len(server.token_requests()) == 2
    assert server.requests[-1].headers["Authorization"] == "Bearer tok2"
    # The known challenge let the flow refresh first: the registry never saw the expired or no token.
    assert [r.headers.get("Authorization") for r in server.requests if r.url.host == REGISTRY] == [
        None, "Bearer tok1", "Bearer tok1", "Bearer tok2"]


def test_missing_expires_in_means_sixty_seconds(server: TokenRegistry, client: httpx.Client, clock: Clock):
    server.expires_in = None
    auth = RegistryAuth(REGISTRY, USER, clock=clock)
    url = f"{BASE}/v2/team/app/manifests/v1"
    client.get(url, auth=auth)
    clock.now += 49
    client.get(url, auth=auth)
    assert len(server.token_requests()) == 1
    clock.now += 2
    client.get(url, auth=auth)
    assert len(server.token_requests()) == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"access_token": "oauth-token"}, "oauth-token"),
        ({"token": "primary", "access_token": "secondary"}, "primary"),
    ],
)
def test_token_or_access_token_is_accepted(
    server: TokenRegistry, client: httpx.Client, body: dict[str, str], expected: str
):
    server.token_answer = lambda request: httpx.Response(200, json=body)
    server.issued[expected] = frozenset({"repository:r:pull"})
    assert client.get(f"{BASE}/v2/r/manifests/v1", auth=RegistryAuth(REGISTRY, USER)).status_code == 200
    assert server.requests[-1].headers["Authorization"] == f"Bearer {expected}"


def test_identity_token_uses_the_oauth2_refresh_token_post(server: TokenRegistry, client: httpx.Client):
    rotated: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        rotated.append(form["refresh_token"][0])
        server.issued[f"access{len(rotated)}"] = frozenset(form.get("scope", [""])[0].split())
        return httpx.Response(200, json={"access_token": f"access{len(rotated)}", "refresh_token": "TEST-ONLY-r2"})

    server.token_answer = answer
    auth = RegistryAuth(REGISTRY, Credentials(identity_token="TEST-ONLY-r1"))
    assert client.get(f"{BASE}/v2/team/app/manifests/v1", auth=auth).status_code == 200
    (token_request,) = server.token_requests()
    assert token_request.method == "POST"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_request.headers
    assert token_request.content is not None
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["TEST-ONLY-r1"],
        "client_id": [CLIENT_ID],
        "service": [SERVICE],
        "scope": ["repository:team/app:pull"],
    }
    # A rotated refresh token is used for the next token.
    client.get(f"{BASE}/v2/team/other/manifests/v1", auth=auth)
    assert rotated == ["TEST-ONLY-r1", "TEST-ONLY-r2"]


def test_a_rejected_cached_token_is_replaced_once(server: TokenRegistry, client: httpx.Client):
    auth = RegistryAuth(REGISTRY, USER)
    url = f"{BASE}/v2/team/app/manifests/v1"
    client.get(url, auth=auth)
    server.revoked.add("tok1")
    assert client.get(url, auth=auth).status_code == 200
    assert len(server.token_requests()) == 2
    assert server.requests[-1].headers["Authorization"] == "Bearer tok2"


def test_a_fresh_token_refused_for_the_same_scope_is_not_fetched_again(
    server: TokenRegistry, client: httpx.Client, clock: Clock
):
    auth = RegistryAuth(REGISTRY, USER, clock=clock)
    url = f"{BASE}/v2/team/app/manifests/v1"
    client.get(url, auth=auth)
    clock.now += 1000  # expired: the next request fetches a token first
    server.token_answer = lambda request: (server.issued.__setitem__("bad", frozenset()),
                                           httpx.Response(200, json={"token": "bad"}))[1]
    with pytest.raises(AuthError, match="denied"):
        client.get(url, auth=auth)
    assert len(server.token_requests()) == 2


def test_second_401_with_insufficient_scope_is_denied(server: TokenRegistry, client: httpx.Client):
    # The token service grants nothing: every token comes back with insufficient_scope.
    def answer(request: httpx.Request) -> httpx.Response:
        server.issued["useless"] = frozenset()
        return httpx.Response(200, json={"token": "useless"})

    server.token_answer = answer
    with pytest.raises(AuthError) as info:
        client.put(f"{BASE}/v2/team/app/manifests/v1", content=b"{}", auth=RegistryAuth(REGISTRY, USER))
    assert info.value.message.startswith("denied: requested access to the resource is denied")
    assert "repository:team/app:pull,push" in info.value.message
    assert "permission" in info.value.hint
    assert len(server.token_requests()) == 1


def test_second_401_for_an_anonymous_token_points_at_login(server: TokenRegistry, client: httpx.Client):
    def answer(request: httpx.Request) -> httpx.Response:
        server.issued["anon"] = frozenset()
        return httpx.Response(200, json={"token": "anon"})

    server.token_answer = answer
    with pytest.raises(AuthError) as info:
        client.get(f"{BASE}/v2/private/app/manifests/v1", auth=RegistryAuth(REGISTRY, None))
    assert "denied" in info.value.message
    assert "supplychain login registry.example.com" in info.value.hint


def test_second_401_with_invalid_token_is_unauthorized():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, json={"token": "t"})
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{REALM}",error="invalid_token"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c, pytest.raises(AuthError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert "unauthorized: authentication required" in info.value.message


def test_token_service_refusing_the_password_is_unauthorized(server: TokenRegistry, client: httpx.Client):
    server.password = "something else"
    with pytest.raises(AuthError) as info:
        client.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert "unauthorized: authentication required" in info.value.message
    assert "incorrect username or password" in info.value.message
    assert "user name and password" in info.value.hint


# -- token service failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(500, json={"errors": [{"code": "UNKNOWN", "message": "db down"}]}), "HTTP 500 (db down)"),
        (httpx.Response(200, text="<html>login portal</html>"), "not JSON"),
        (httpx.Response(200, json=["token"]), "not an object"),
        (httpx.Response(200, json={"expires_in": 60}), "without a token"),
        (httpx.Response(200, json={"token": ""}), "without a token"),
        (httpx.Response(200, json={"token": "a\nInjected: header"}), "invalid characters"),
        (httpx.Response(302, headers={"Location": "http://169.254.169.254/"}), "redirect"),
        (httpx.Response(200, content=b'{"token":"' + b"a" * MAX_TOKEN_RESPONSE_BYTES + b'"}'), "exceeds"),
    ],
)
def test_broken_token_service_answers_are_clear_errors(
    server: TokenRegistry, client: httpx.Client, answer: httpx.Response, words: str
):
    server.token_answer = lambda request: answer
    with pytest.raises(TokenServiceError) as info:
        client.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert words in info.value.message
    assert "auth.example.com/token" in info.value.message or "exceeds" in words
    assert info.value.hint


def test_oversized_streamed_token_answer_is_cut_off(server: TokenRegistry, client: httpx.Client):
    def chunks() -> Iterator[bytes]:
        yield b'{"token":"'
        while True:
            yield b"a" * 8192

    server.token_answer = lambda request: httpx.Response(200, content=chunks())
    with pytest.raises(TokenServiceError, match="exceeds"):
        client.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))


def test_anonymous_refusal_by_the_token_service_points_at_login(server: TokenRegistry, client: httpx.Client):
    server.token_answer = lambda request: httpx.Response(401, json={"details": "login required"})
    with pytest.raises(AuthError) as info:
        client.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, None))
    assert "refused anonymous access (login required)" in info.value.message
    assert "supplychain login registry.example.com" in info.value.hint


# -- challenges the flow cannot answer --------------------------------------------------------------------------


def challenge_client(header: str | None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": header} if header is not None else {})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_401_without_a_challenge_is_an_auth_error():
    with challenge_client(None) as c, pytest.raises(AuthError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert "sent no challenge" in info.value.message
    assert info.value.hint


def test_unsupported_scheme_is_named():
    with challenge_client('Negotiate, Digest realm="x", nonce="y"') as c, pytest.raises(AuthError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert "digest, negotiate" in info.value.message
    assert "Basic and Bearer" in info.value.hint


@pytest.mark.parametrize("header", ['Bearer realm="unterminated', "Bearer realm=", 'Bearer service="s"'])
def test_malformed_or_realmless_challenges_are_refused(header: str):
    with challenge_client(header) as c, pytest.raises(MalformedChallengeError):
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))


# -- safety -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("realm", "words"),
    [
        ("https://169.254.169.254/latest/meta-data/", "link-local (cloud metadata service)"),
        ("http://169.254.169.254/latest/meta-data/", "downgrades"),
        ("https://10.0.0.1/token", "private"),
        ("https://192.168.1.1/token", "private"),
        ("https://127.0.0.1:8080/token", "loopback"),
        ("https://0.0.0.0/token", "unspecified"),
        ("https://[::1]/token", "loopback"),
        ("https://[::ffff:169.254.169.254]/token", "link-local"),
        ("https://[fe80::1]/token", "link-local"),
        ("https://2130706433/token", "loopback"),  # 127.0.0.1 in the legacy integer form
        ("https://0xa9fea9fe/token", "link-local"),  # 169.254.169.254 in hex
        ("https://169.254.169.254./token", "link-local"),
        ("https://100.64.0.1/token", "non-public"),
        ("http://auth.example.com/token", "downgrades HTTPS to plain HTTP"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://auth.example.com/token", "scheme 'ftp'"),
        ("https://user:pw@auth.example.com/token", "user information"),
    ],
)
def test_unsafe_realms_are_refused_before_any_request(realm: str, words: str):
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c, pytest.raises(UnsafeRequestError) as info:
        c.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER))
    assert words in info.value.message
    assert info.value.hint
    assert info.value.exit_code == ExitCode.INTEGRITY
    assert [r.url.host for r in seen] == [REGISTRY]  # the realm was never contacted


@pytest.mark.parametrize(
    ("registry", "plain_http", "realm"),
    [
        ("docker.io", False, "https://auth.docker.io/token"),  # cross-host realm on a public name
        ("10.0.0.5:5000", False, "https://10.0.0.5:5001/token"),  # the registry's own (private) host
        ("localhost:5000", True, "http://127.0.0.1:5001/token"),  # both on this machine
        ("127.0.0.1:5000", True, "https://auth.example.com/token"),
    ],
)
def test_legitimate_realms_are_used(registry: str, plain_http: bool, realm: str):
    _assert_realm_used(RegistryAuth(registry, USER, plain_http=plain_http), realm)


def _assert_realm_used(auth: RegistryAuth, realm: str) -> None:
    """The registry challenges, the token comes from ``realm`` (asked exactly once), and the token works."""
    token_hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(realm):
            token_hosts.append(request.url.host)
            return httpx.Response(200, json={"token": "t"})
        if request.headers.get("Authorization") == "Bearer t":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        assert c.get(f"{auth.origin.url}/v2/", auth=auth).status_code == 200
    assert token_hosts == [httpx.URL(realm).host]


def test_docker_hub_origin_is_the_api_host():
    assert RegistryAuth("docker.io", None).origin.url == "https://registry-1.docker.io"
    assert RegistryAuth("index.docker.io", None).origin.url == "https://registry-1.docker.io"
    assert RegistryAuth("LOCALHOST:5000", None, plain_http=True).origin.url == "http://localhost:5000"


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.net/blob",  # another host
        "http://registry.example.com/v2/",  # another scheme
        "https://registry.example.com:8443/v2/",  # another port
    ],
)
def test_no_credentials_to_another_origin(server: TokenRegistry, client: httpx.Client, url: str):
    auth = RegistryAuth(REGISTRY, USER)
    _, basic_client = basic_registry()
    with basic_client:
        basic_client.get(f"{BASE}/v2/", auth=auth)  # Basic is now sent up front to the registry
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        # Even a header copied from an earlier registry request is dropped.
        response = c.get(url, auth=auth, headers={"Authorization": basic("alice", "TEST-ONLY-secret")})
    assert response.status_code == 401  # returned, not answered
    assert len(seen) == 1
    assert "Authorization" not in seen[0].headers


def test_default_port_is_the_same_origin():
    seen, c = basic_registry()
    with c:
        assert c.get("https://registry.example.com:443/v2/", auth=RegistryAuth(REGISTRY, USER)).status_code == 200
    assert seen[-1].headers["Authorization"] == basic("alice", "TEST-ONLY-secret")


def test_no_password_over_plain_http_to_a_non_loopback_registry():
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c, pytest.raises(UnsafeRequestError) as info:
        c.get("http://10.1.2.3:5000/v2/", auth=RegistryAuth("10.1.2.3:5000", USER, plain_http=True))
    assert "plain HTTP" in info.value.message
    assert "HTTPS" in info.value.hint
    assert all("Authorization" not in r.headers for r in seen)


def test_no_credential_token_over_plain_http_but_anonymous_tokens_are_fine():
    realm = "https://auth.example.com/token"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, json={"token": "anon"})
        if request.headers.get("Authorization") == "Bearer anon":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(UnsafeRequestError):
            c.get("http://10.1.2.3:5000/v2/", auth=RegistryAuth("10.1.2.3:5000", USER, plain_http=True))
        anonymous = RegistryAuth("10.1.2.3:5000", None, plain_http=True)
        assert c.get("http://10.1.2.3:5000/v2/", auth=anonymous).status_code == 200


def test_loopback_registries_may_use_plain_http_with_credentials():
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        if request.headers.get("Authorization") == basic("alice", "TEST-ONLY-secret"):
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        auth = RegistryAuth("127.0.0.1:5000", USER, plain_http=True)
        assert c.get("http://127.0.0.1:5000/v2/", auth=auth).status_code == 200


def test_streamed_body_gets_the_token_and_the_401_back_then_the_resend_carries_it(server: TokenRegistry):
    class WireTransport(httpx.BaseTransport):
        """Consumes the body as a socket would (MockTransport reads it into memory, making it replayable)."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            for _ in request.stream:  # type: ignore[union-attr]
                pass
            return server.handler(request)

    client = httpx.Client(transport=WireTransport())
    auth = RegistryAuth(REGISTRY, USER)
    url = f"{BASE}/v2/team/app/blobs/uploads/some-session?digest=sha256:00"
    first = client.put(url, content=iter([b"layer ", b"bytes"]), auth=auth)
    assert first.status_code == 401  # not retried: the one-shot body is gone; the challenge is learned
    assert server.token_requests() == []
    again = client.put(url, content=iter([b"layer ", b"bytes"]), auth=auth)
    assert again.status_code == 201
    # The resend fetched the token first, then sent the body once, with the token.
    assert [r.url.host for r in server.requests] == [REGISTRY, "auth.example.com", REGISTRY]
    assert server.requests[-1].headers["Authorization"] == "Bearer tok1"
    client.close()


def test_in_memory_bodies_are_resent_after_the_challenge(server: TokenRegistry, client: httpx.Client):
    response = client.put(f"{BASE}/v2/team/app/manifests/v1", content=b"{}", auth=RegistryAuth(REGISTRY, USER))
    assert response.status_code == 201
    assert [r.content for r in server.requests if r.url.host == REGISTRY] == [b"{}", b"{}"]


def test_secrets_stay_out_of_repr():
    auth = RegistryAuth(REGISTRY, Credentials("alice", "TEST-ONLY-secret", "TEST-ONLY-refresh"))
    for text in (repr(auth), str(auth), repr(auth.credentials), str(auth.credentials)):
        assert "TEST-ONLY" not in text


def test_invalid_registry_address_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        RegistryAuth("", USER)


def test_token_answer_json_is_parsed_from_bytes(server: TokenRegistry, client: httpx.Client):
    # expires_in given as a JSON float and a bool are handled (bool is not a number here).
    server.token_answer = lambda request: httpx.Response(
        200, content=json.dumps({"token": "tok-f", "expires_in": True}).encode()
    )
    server.issued["tok-f"] = frozenset()
    assert client.get(f"{BASE}/v2/", auth=RegistryAuth(REGISTRY, USER)).status_code == 200


# -- realms by name and by resolved address (issue 7, item 2) ------------------------------------------------


def _resolver(answers: dict[str, tuple[str, ...]]) -> Callable[[str], tuple[IPAddress, ...]]:
    """A resolver for the test: names to fixed addresses (what a hostile or internal DNS answers)."""
    def resolve(name: str) -> tuple[IPAddress, ...]:
        return tuple(ipaddress.ip_address(a) for a in answers.get(name, ()))

    return resolve


@pytest.mark.parametrize(
    ("realm", "answers", "words"),
    [
        # By name: never sent to DNS (RFC 6761), always this machine.
        ("https://localhost:5001/token", {}, "127.0.0.1 is a loopback address"),
        ("https://LocalHost./token", {}, "loopback"),
        ("https://auth.localhost/token", {}, "loopback"),
        # By resolved address: internal DNS names, and a public name rebound into the local network.
        ("https://auth.internal.example/token", {"auth.internal.example": ("10.0.0.5",)},
         "auth.internal.example resolves to 10.0.0.5 is a private address"),
        ("https://metadata.example/token", {"metadata.example": ("169.254.169.254",)}, "link-local"),
        ("https://me.example/token", {"me.example": ("127.0.0.1",)}, "loopback"),
        ("https://v6.example/token", {"v6.example": ("::1",)}, "loopback"),
        ("https://mapped.example/token", {"mapped.example": ("::ffff:192.168.1.1",)}, "private"),
        # Any one private answer is enough: the connection may pick it.
        ("https://mixed.example/token", {"mixed.example": ("93.184.216.34", "127.0.0.1")}, "loopback"),
    ],
)
def test_realm_names_that_mean_the_local_network_are_refused(realm: str, answers: dict[str, tuple[str, ...]],
                                                             words: str):
    """The attack: a remote registry with saved Basic credentials names a token realm on this machine or the
    internal network by *name*; the credentials must not be sent there (the realm is never contacted)."""
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        if request.url.host != REGISTRY:
            return httpx.Response(200, json={"token": "stolen"})
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    auth = RegistryAuth(REGISTRY, USER, resolve=_resolver(answers))
    with httpx.Client(transport=httpx.MockTransport(handler)) as c, pytest.raises(UnsafeRequestError) as info:
        c.get(f"{BASE}/v2/", auth=auth)
    assert words in info.value.message, info.value.message
    assert "not the registry's own host" in info.value.message and info.value.hint
    assert info.value.exit_code == ExitCode.INTEGRITY
    assert [r.url.host for r in seen] == [REGISTRY]  # the realm was never contacted: no credentials left
    assert all("authorization" not in {k.lower() for k in r.headers} for r in seen)


@pytest.mark.parametrize(
    ("registry", "plain_http", "realm", "answers"),
    [
        # Controls: a public token service found by name, the registry's own name (whatever it resolves to),
        # a name that does not resolve (the request then fails to connect: nothing to protect), and both ends on
        # this machine by name.
        ("registry.example.com", False, "https://auth.example.com/token", {"auth.example.com": ("93.184.216.34",)}),
        ("registry.example.com", False, "https://registry.example.com/token",
         {"registry.example.com": ("10.0.0.5",)}),
        ("registry.example.com", False, "https://unresolved.example/token", {}),
        ("localhost:5000", True, "http://localhost:5001/token", {}),
        ("myhost:5000", True, "http://127.0.0.1:5001/token", {"myhost": ("127.0.0.1",)}),
    ],
)
def test_realm_names_that_are_public_or_the_registrys_own_are_used(registry: str, plain_http: bool, realm: str,
                                                                   answers: dict[str, tuple[str, ...]]):
    _assert_realm_used(RegistryAuth(registry, USER, plain_http=plain_http, resolve=_resolver(answers)), realm)


# -- the ping's challenge (issue 10, item 2) ---------------------------------------------------------------------


def test_the_pings_bearer_challenge_fetches_the_token_before_the_first_request(server: TokenRegistry):
    auth = RegistryAuth(REGISTRY, USER)
    auth.learn_ping(f'Bearer realm="{REALM}",service="{SERVICE}"')
    with httpx.Client(transport=httpx.MockTransport(server.handler)) as client:
        assert client.get(f"{BASE}/v2/team/app/manifests/1", auth=auth).status_code == 200
        assert client.get(f"{BASE}/v2/team/app/manifests/2", auth=auth).status_code == 200
    statuses = [r.url.path for r in server.requests]
    assert statuses == ["/token", "/v2/team/app/manifests/1", "/v2/team/app/manifests/2"]  # no 401 at all
    assert list(server.issued.values()) == [frozenset({"repository:team/app:pull"})]


def test_a_wrong_guess_of_the_scope_is_answered_as_any_challenge():
    class Greedy(TokenRegistry):
        def needed(self, request: httpx.Request) -> str | None:  # asks for push even to read
            return None if request.url.path == "/v2/" else "repository:team/app:pull,push"

    server = Greedy()
    auth = RegistryAuth(REGISTRY, USER)
    auth.learn_ping(f'Bearer realm="{REALM}",service="{SERVICE}"')
    with httpx.Client(transport=httpx.MockTransport(server.handler)) as client:
        assert client.get(f"{BASE}/v2/team/app/manifests/1", auth=auth).status_code == 200
        assert client.get(f"{BASE}/v2/team/app/manifests/2", auth=auth).status_code == 200
    # The guessed pull token, refused once; then the scope the registry named, kept for the next request.
    assert list(server.issued.values()) == [frozenset({"repository:team/app:pull"}),
                                            frozenset({"repository:team/app:pull,push"})]
    assert len(server.requests) == 1 + 1 + 1 + 1 + 1


def test_the_pings_basic_challenge_sends_the_password_up_front_only_where_it_may_go():
    seen: list[Seen] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(Seen.of(request))
        if request.headers.get("Authorization") == basic(USER.username, USER.password):
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        loopback = RegistryAuth("127.0.0.1:5000", USER, plain_http=True)
        loopback.learn_ping('Basic realm="x"')
        assert client.get("http://127.0.0.1:5000/v2/app/manifests/1", auth=loopback).status_code == 200
        assert len(seen) == 1  # no 401: the password went with the first request
        remote = RegistryAuth("10.1.2.3:5000", USER, plain_http=True)
        remote.learn_ping('Basic realm="x"')  # plain HTTP to another host: never up front
        with pytest.raises(UnsafeRequestError):
            client.get("http://10.1.2.3:5000/v2/app/manifests/1", auth=remote)
    assert "Authorization" not in seen[-1].headers


def test_a_malformed_ping_challenge_is_left_to_the_first_401():
    auth = RegistryAuth(REGISTRY, USER)
    auth.learn_ping('Bearer realm="unterminated')
    auth.learn_ping(None)
    assert repr(auth) == f"RegistryAuth('{BASE}', credentials=unresolved)"
