"""Registry credentials from the docker CLI config (placeholder interface; implemented in the auth work)."""

from __future__ import annotations

from dataclasses import dataclass

from supplychain.config import Settings


@dataclass(frozen=True, slots=True)
class Credentials:
    """Username/password, or an identity (refresh) token for the token service."""

    username: str = ""
    password: str = ""
    identity_token: str | None = None

    def __repr__(self) -> str:  # never leak secrets into logs or tracebacks
        return f"Credentials(username={self.username!r}, password=***, identity_token={'***' if self.identity_token else None})"


def find_credentials(registry: str, settings: Settings) -> Credentials | None:
    """Credentials saved for ``registry`` (``host[:port]``, ``docker.io`` for Docker Hub), or ``None``."""
    return None
