"""``supplychain login``: prove a registry accepts credentials (as ``docker login`` does), then save them."""

from __future__ import annotations

import httpx

from supplychain.config import Settings
from supplychain.errors import RegistryError
from supplychain.reference import DOCKER_HUB, DOCKER_HUB_API
from supplychain.registry.auth import RegistryAuth
from supplychain.registry.credentials import CredentialLocation, Credentials, registry_host, save_credentials
from supplychain.transport import allows_plain_http, build_client, certificate_error, is_insecure, map_transport_error


def check_credentials(
    registry: str, credentials: Credentials, settings: Settings, *, client: httpx.Client | None = None
) -> None:
    """Prove that ``registry`` accepts ``credentials``: ``GET /v2/`` answering its challenge, as docker login does.

    HTTPS first; plain HTTP only for loopback and insecure-listed hosts, and only when HTTPS cannot connect
    (not when its certificate is refused). Raises ``AuthError`` when refused, ``UnavailableError``/``TLSError``
    when the registry cannot be reached, ``UnsafeRequestError`` when the credentials would travel unsafely.
    """
    name = registry_host(registry)
    host = DOCKER_HUB_API if name == DOCKER_HUB else name
    schemes = ["https", "http"] if allows_plain_http(host, settings) else ["https"]
    owned = client is None
    http = build_client(settings, host, insecure=is_insecure(host, settings)) if client is None else client
    try:
        for index, scheme in enumerate(schemes):
            auth = RegistryAuth(name, credentials, plain_http=scheme == "http")
            url = f"{auth.origin.url}/v2/"
            try:
                with http.stream("GET", url, auth=auth) as response:
                    status = response.status_code
            except httpx.TransportError as exc:
                if index + 1 < len(schemes) and certificate_error(exc) is None:
                    continue  # docker: an insecure registry that does not speak TLS is tried over HTTP
                raise map_transport_error(exc, host=host, certs_dir=settings.certs_dir) from exc
            if 200 <= status < 300:
                return
            if status == 404:
                raise RegistryError(
                    f"{url} answered 404: no registry API there",
                    hint="check the registry address (host[:port] of an OCI distribution registry)",
                )
            raise RegistryError(
                f"{url} answered HTTP {status}", hint="retry later; if it persists ask the registry's operator"
            )
    finally:
        if owned:
            http.close()


def login(
    registry: str, credentials: Credentials, settings: Settings, *, client: httpx.Client | None = None
) -> CredentialLocation:
    """``docker login``: check ``credentials`` against the registry, then save them; return where they went."""
    check_credentials(registry, credentials, settings, client=client)
    return save_credentials(registry, credentials, settings)
