"""Registry authentication as an ``httpx.Auth`` flow (placeholder interface; implemented in the auth work)."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from supplychain.registry.credentials import Credentials


class RegistryAuth(httpx.Auth):
    """Answers a registry's 401 challenges (Basic or Bearer token) for one registry origin."""

    def __init__(self, registry: str, credentials: Credentials | None, *, plain_http: bool = False) -> None:
        self.registry = registry
        self.credentials = credentials
        self.plain_http = plain_http

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request
