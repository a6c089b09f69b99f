"""RegistryClient: ping, scheme discovery, redirects and credential forwarding, Link pagination safety."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import (
    RegistryError,
    SizeLimitError,
    TLSError,
    UnavailableError,
    UnsafeRequestError,
)
from supplychain.oci.model import Descriptor
from supplychain.registry.client import RegistryClient

SECRET = "Bearer registry-token"


class TokenAuth(httpx.Auth):
    """Stands in for RegistryAuth: always adds a bearer token (the client decides when to use it)."""

    credentials = object()

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = SECRET
        yield request


def make(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    host: str = "registry.test",
    settings: Settings | None = None,
    auth: httpx.Auth | None = None,
) -> tuple[RegistryClient, list[float]]:
    sleeps: list[float] = []
    client = RegistryClient(host, settings or Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)),
                            auth=auth, sleep=sleeps.append)
    return client, sleeps


def ok_ping(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={}, headers={"Docker-Distribution-API-Version": "registry/2.0"})


# -- ping and scheme ----------------------------------------------------------------------------------


def test_ping_accepts_200_and_401_and_goes_without_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token"',
                                            "Docker-Distribution-API-Version": "registry/2.0"})

    client, _ = make(handler, auth=TokenAuth())
    result = client.ping()
    assert (result.scheme, result.status, result.api_version) == ("https", 401, "registry/2.0")
    assert result.challenge == 'Bearer realm="https://auth.test/token"'
    assert "Authorization" not in seen[0].headers


def test_ping_refuses_a_server_that_is_not_a_registry() -> None:
    client, _ = make(lambda r: httpx.Response(404, text="nothing here"))
    with pytest.raises(RegistryError, match="does not serve the OCI distribution API"):
        client.ping()
    client, _ = make(lambda r: httpx.Response(200, headers={"Docker-Distribution-API-Version": "registry/1.0"}))
    with pytest.raises(RegistryError, match=r"API version registry/1\.0"):
        client.ping()


def test_public_hosts_use_https_without_probing() -> None:
    seen: list[httpx.Request] = []
    client, _ = make(lambda r: seen.append(r) or ok_ping(r))
    assert client.scheme == "https"
    assert seen == []


def _no_tls_then_http(seen: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.scheme == "https":
            cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
            cause.reason = "WRONG_VERSION_NUMBER"
            raise httpx.ConnectError("wrong version number") from cause
        return ok_ping(request)

    return handler


def test_loopback_falls_back_to_plain_http_once() -> None:
    seen: list[str] = []
    client, _ = make(_no_tls_then_http(seen), host="127.0.0.1:5000")
    assert client.scheme == "http"
    assert client.scheme == "http"
    assert seen == ["https://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/v2/"]
    assert client.ping().scheme == "http"
    assert len(seen) == 2  # remembered


def test_ping_first_pings_once() -> None:
    seen: list[str] = []
    client, _ = make(_no_tls_then_http(seen), host="127.0.0.1:5000")
    assert client.ping().scheme == "http"
    assert seen == ["https://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/v2/"]


def test_listed_insecure_host_falls_back_too() -> None:
    seen: list[str] = []
    settings = Settings(insecure_registries=frozenset({"lab.test:5000"}))
    client, _ = make(_no_tls_then_http(seen), host="lab.test:5000", settings=settings)
    assert client.scheme == "http"


def test_certificate_failure_on_loopback_is_not_a_reason_to_downgrade() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
        cause.verify_code = 20
        cause.verify_message = "unable to get local issuer certificate"
        raise httpx.ConnectError("certificate verify failed") from cause

    client, _ = make(handler, host="127.0.0.1:5443")
    with pytest.raises(TLSError, match="x509: certificate signed by unknown authority"):
        _ = client.scheme
    assert seen == ["https://127.0.0.1:5443/v2/"]


def test_plain_http_refused_for_a_public_host() -> None:
    with pytest.raises(UnsafeRequestError, match=r"refusing plain HTTP to registry\.test"):
        RegistryClient("registry.test", Settings(), client=httpx.Client(), scheme="http")


def test_unreachable_loopback_registry_says_so() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused") from ConnectionRefusedError(111, "refused")

    client, _ = make(handler, host="127.0.0.1:1")
    with pytest.raises(UnavailableError, match=r"connection refused by 127\.0\.0\.1:1"):
        client.ping()


# -- redirects ------------------------------------------------------------------------------------------


def blob_desc(data: bytes) -> Descriptor:
    return Descriptor.for_bytes("application/octet-stream", data)


def test_cross_origin_redirect_drops_credentials() -> None:
    data = b"layer bytes"
    desc = blob_desc(data)
    seen: dict[str, httpx.Headers] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers
        if request.url.host == "registry.test":
            return httpx.Response(307, headers={"Location": "https://storage.test/b?X-Amz-Signature=s"})
        return httpx.Response(200, content=data)

    client, _ = make(handler, auth=TokenAuth())
    assert client.repository("r").get_blob(desc) == data
    assert seen["registry.test"]["Authorization"] == SECRET
    assert "Authorization" not in seen["storage.test"]
    assert seen["storage.test"]["Host"] == "storage.test"


@pytest.mark.parametrize("location", ["https://registry.test:8443/x", "http://registry.test/x"])
def test_other_port_or_scheme_counts_as_another_origin(location: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return ok_ping(request)
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, content=b"x")

    client, _ = make(handler, auth=TokenAuth(), settings=Settings(insecure_registries=frozenset({"registry.test"})))
    if location.startswith("http:"):
        with pytest.raises(UnsafeRequestError, match="from https to plain http"):
            client.repository("r").get_blob(blob_desc(b"x"))
        assert len(seen) == 1
    else:
        client.repository("r").get_blob(blob_desc(b"x"))
        assert "Authorization" not in seen[1].headers


def test_same_origin_redirect_keeps_credentials_and_relative_locations_resolve() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/v2/r/blobs/"):
            return httpx.Response(307, headers={"Location": "../../../storage/blob-1"})
        return httpx.Response(200, content=b"x")

    client, _ = make(handler, auth=TokenAuth())
    client.repository("r").get_blob(blob_desc(b"x"))
    assert str(seen[1].url) == "https://registry.test/storage/blob-1"
    assert seen[1].headers["Authorization"] == SECRET


def test_redirects_are_bounded() -> None:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(302, headers={"Location": f"/loop/{count}"})

    client, _ = make(handler)
    with pytest.raises(RegistryError, match="more than 5 redirects"):
        client.repository("r").get_blob(blob_desc(b"x"))
    assert count == 6


def test_redirect_to_plain_http_on_a_public_host_is_refused_even_from_loopback() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "http://storage.test/blob"})

    client = RegistryClient("127.0.0.1:5000", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)),
                            scheme="http")
    with pytest.raises(UnsafeRequestError, match=r"plain http on storage\.test"):
        client.repository("r").get_blob(blob_desc(b"x"))


# -- Link pagination -----------------------------------------------------------------------------------


def test_catalog_follows_relative_links() -> None:
    pages = {
        "/v2/_catalog?n=2": (["a", "b"], '</v2/_catalog?n=2&last=b>; rel="next"'),
        "/v2/_catalog?n=2&last=b": (["c"], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        items, link = pages[request.url.raw_path.decode()]
        return httpx.Response(200, json={"repositories": items}, headers={"Link": link} if link else {})

    client, _ = make(handler)
    assert list(client.catalog(page_size=2)) == ["a", "b", "c"]


def test_endless_pagination_stops_at_the_page_cap() -> None:
    served = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        return httpx.Response(200, json={"repositories": [f"r{served}"]},
                              headers={"Link": f'</v2/_catalog?last=r{served}>; rel="next"'})

    client, _ = make(handler, settings=Settings(max_pages=7))
    with pytest.raises(SizeLimitError, match="more than 7 pages"):
        list(client.catalog())
    assert served == 7


def test_a_link_loop_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        last = request.url.params.get("last")
        target = "/v2/_catalog?last=x" if last is None else "/v2/_catalog"
        return httpx.Response(200, json={"repositories": ["x"]}, headers={"Link": f'<{target}>; rel="next"'})

    client, _ = make(handler)
    with pytest.raises(RegistryError, match="points back to a page already read"):
        list(client.catalog())


def test_a_link_to_another_host_is_refused_before_any_request() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(200, json={"repositories": ["a"]},
                              headers={"Link": '<https://evil.test/v2/_catalog?last=a>; rel="next"'})

    client, _ = make(handler, auth=TokenAuth())
    with pytest.raises(UnsafeRequestError, match=r"evil\.test"):
        list(client.catalog())
    assert seen == ["registry.test"]


def test_a_page_that_is_not_a_list_of_strings_is_an_error() -> None:
    client, _ = make(lambda r: httpx.Response(200, json={"repositories": [1, 2]}))
    with pytest.raises(RegistryError, match="not a list of strings"):
        list(client.catalog())
    client, _ = make(lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(RegistryError, match="invalid JSON"):
        list(client.catalog())
