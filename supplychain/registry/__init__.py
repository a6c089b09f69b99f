"""OCI distribution registry client: ``open_repository(ref, settings)`` gives an ``ArtifactStore``.

Modules, by concept: ``client`` (one registry host: scheme, retries, redirects, pages), ``repository``
(manifests, tags: the store), ``blob`` (reads, uploads, mounts), ``referrer`` (referrers API and tag),
``paging`` (``Link`` pagination), ``errors`` (distribution error codes), ``auth`` (the 401 flow) with ``token``
(the token protocol), and ``credentials``.

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

__all__ = ["RegistryClient", "RegistryPool", "RegistryRepository", "open_repository"]


def open_repository(
    ref: ImageReference, settings: Settings, *, client: httpx.Client | None = None
) -> RegistryRepository:
    """The repository ``ref`` names, with the transport policy and the saved credentials for its registry.

    The HTTP client comes from ``supplychain.transport.build_client`` unless ``client`` is given. For a
    loopback or insecure host the scheme is discovered first (one anonymous ping) so that the auth flow
    knows whether it talks plain HTTP. Close the repository (or use it as a context manager) when done.
    """
    return _connect(ref, settings, client).repository(ref.repository)


def _connect(ref: ImageReference, settings: Settings, client: httpx.Client | None) -> RegistryClient:
    """A client for ``ref``'s registry, authenticating with the saved credentials for it."""
    from supplychain.registry.auth import RegistryAuth
    from supplychain.registry.client import RegistryClient
    from supplychain.registry.credentials import Credentials, find_credentials

    registry = RegistryClient(ref.api_host, settings, client=client)
    try:
        # Looked up on the registry's first challenge only, as skopeo does: anonymous registries work even
        # when the docker config names a credential helper that is missing or broken.
        def credentials() -> Credentials | None:
            return find_credentials(ref.registry, settings)

        # RegistryAuth names the registry as credentials do (docker.io for Docker Hub) and derives the API host.
        auth = RegistryAuth(ref.registry, credentials, plain_http=registry.scheme == "http")
        if registry.pinged is not None:  # discovery pinged /v2/: its 401 challenge is the registry's, reused
            auth.learn_ping(registry.pinged.challenge)
        registry.auth = auth
        return registry
    except BaseException:  # broad: the client's connections are closed on any failure, an interrupt included
        registry.close()
        raise


class RegistryPool:
    """Registry clients shared per registry across the images of one run (a verify of many images, an audit): one
    connection pool and one token cache (per scope) per registry, not one per image. Thread-safe; a repository it
    hands out does not close the shared client: ``close`` (or the ``with`` block) closes them all."""

    def __init__(self, settings: Settings) -> None:
        import threading

        self.settings = settings
        self._clients: dict[tuple[str, str], RegistryClient] = {}
        self._lock = threading.Lock()

    def repository(self, ref: ImageReference) -> RegistryRepository:
        """The repository ``ref`` names, on the run's client for its registry (built on first use)."""
        from supplychain.registry.repository import RegistryRepository

        key = (ref.registry, ref.api_host)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = _connect(ref, self.settings, None)
        return RegistryRepository(client, ref.repository, owns_client=False)

    def close(self) -> None:
        """Close every client (idempotent)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> RegistryPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def __getattr__(name: str) -> Any:
    # Lazy re-exports (PEP 562): `from supplychain.registry import RegistryClient` loads httpx only then.
    if name == "RegistryClient":
        from supplychain.registry.client import RegistryClient

        return RegistryClient
    if name == "RegistryRepository":
        from supplychain.registry.repository import RegistryRepository

        return RegistryRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
