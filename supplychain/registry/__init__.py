"""OCI distribution registry client: ``open_repository(ref, settings)`` gives an ``ArtifactStore``.

Modules, by concept: ``client`` (one registry host: scheme, retries, redirects, pages), ``repository``
(manifests, tags: the store), ``blob`` (reads, uploads, mounts), ``referrer`` (referrers API and tag),
``paging`` (``Link`` pagination), ``errors`` (distribution error codes), ``auth`` and ``credentials``.

Importing this package is cheap: httpx and the client modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from supplychain.config import Settings
    from supplychain.reference import ImageReference
    from supplychain.registry.client import RegistryClient
    from supplychain.registry.repository import RegistryRepository

__all__ = ["RegistryClient", "RegistryRepository", "open_repository"]


def open_repository(
    ref: ImageReference, settings: Settings, *, client: httpx.Client | None = None
) -> RegistryRepository:
    """The repository ``ref`` names, with the transport policy and the saved credentials for its registry.

    The HTTP client comes from ``supplychain.transport.build_client`` unless ``client`` is given. For a
    loopback or insecure host the scheme is discovered first (one anonymous ping) so that the auth flow
    knows whether it talks plain HTTP. Close the repository (or use it as a context manager) when done.
    """
    from supplychain.registry.auth import RegistryAuth
    from supplychain.registry.client import RegistryClient
    from supplychain.registry.credentials import Credentials, find_credentials

    host = ref.api_host
    registry = RegistryClient(host, settings, client=client)
    try:
        # Looked up on the registry's first challenge only, as skopeo does: anonymous registries work even
        # when the docker config names a credential helper that is missing or broken.
        def credentials() -> Credentials | None:
            return find_credentials(ref.registry, settings)

        # RegistryAuth names the registry as credentials do (docker.io for Docker Hub) and derives the API host.
        registry.auth = RegistryAuth(ref.registry, credentials, plain_http=registry.scheme == "http")
        return registry.repository(ref.repository)
    except BaseException:
        registry.close()
        raise


def __getattr__(name: str) -> Any:
    # Lazy re-exports (PEP 562): `from supplychain.registry import RegistryClient` loads httpx only then.
    if name == "RegistryClient":
        from supplychain.registry.client import RegistryClient

        return RegistryClient
    if name == "RegistryRepository":
        from supplychain.registry.repository import RegistryRepository

        return RegistryRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
