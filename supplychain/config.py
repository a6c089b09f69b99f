"""Frozen settings, from explicit arguments first, then ``SUPPLYCHAIN_*`` environment variables, then defaults.

Read once at the edge (the CLI builds one ``Settings``) and passed down; nothing below reads the environment.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from supplychain.errors import ConfigurationError
from supplychain.limits import (
    MAX_ATTACHMENT_BYTES,
    MAX_BLOB_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_REFERRERS,
    MAX_SIGNATURE_BYTES,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_OIDC_CLIENT_ID",
    "DEFAULT_OIDC_ISSUER",
    "ENV_PREFIX",
    "ID_TOKEN_ENV",
    "MAX_CONCURRENCY",
    "PASSWORD_ENV_VARS",
    "REKOR_URL_ENV",
    "Settings",
    "load_settings",
    "password_sources",
]

ENV_PREFIX = "SUPPLYCHAIN_"
# Where a private key's password may come from, in order (cosign reads COSIGN_PASSWORD).
PASSWORD_ENV_VARS = ("SUPPLYCHAIN_PASSWORD", "COSIGN_PASSWORD")
REKOR_URL_ENV = "SUPPLYCHAIN_REKOR_URL"
ID_TOKEN_ENV = "SIGSTORE_ID_TOKEN"  # noqa: S105 - a variable name; cosign's and sigstore-python's name for an OIDC identity token
DEFAULT_OIDC_ISSUER = "https://oauth2.sigstore.dev/auth"  # cosign --oidc-issuer default (Sigstore's public Dex)
DEFAULT_OIDC_CLIENT_ID = "sigstore"  # cosign --oidc-client-id default
_N = TypeVar("_N", int, float)


# Requests in flight to one registry, and independent reads or blob transfers at once, when --concurrency and
# $SUPPLYCHAIN_CONCURRENCY are not given. skopeo moves 6 blobs at once (containers/image MaxParallelDownloads);
# on loopback 4 already hides most of a registry's per-request latency, and 8 keeps a copy of 50 small layers
# under 64 MB (each transfer holds about a MiB: registry.blob.MAX_BUFFERED_UPLOAD, a layout's reads).
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about talking to registries and reading content."""

    # Hosts (host or host:port) where plain HTTP and unverified TLS are allowed. Loopback is always allowed
    # plain HTTP (but still tries HTTPS first unless listed).
    insecure_registries: frozenset[str] = frozenset()
    ca_file: Path | None = None
    # Where docker's certs.d lives (per-host ca.crt, client.cert, client.key).
    certs_dir: Path = Path("/etc/docker/certs.d")
    # Docker CLI config directory (config.json); $DOCKER_CONFIG or ~/.docker.
    docker_config_dir: Path = field(default_factory=lambda: Path.home() / ".docker")
    timeout: float = 30.0
    retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    max_manifest_bytes: int = MAX_MANIFEST_BYTES
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    max_signature_bytes: int = MAX_SIGNATURE_BYTES  # a .sig payload or a signature bundle, read whole
    max_blob_bytes: int = MAX_BLOB_BYTES
    max_pages: int = 1000  # tags/catalog pagination cap
    # Requests in flight to one registry at once (``--concurrency``, $SUPPLYCHAIN_CONCURRENCY): the cap of each
    # ``RegistryClient``, and how many independent reads (referrers, attachments, images) a command runs at once.
    concurrency: int = DEFAULT_CONCURRENCY
    # Referrer descriptors one listing may hold, over all its pages (a referrers API can page forever); the
    # listing is cut there, with a warning.
    max_referrers: int = MAX_REFERRERS
    # Blobs up to chunk_size (and registry.blob.MAX_BUFFERED_UPLOAD, 1 MiB) are uploaded from memory in one PUT
    # (retried on failure); larger ones stream in one PUT with Content-Length (as docker and skopeo stream
    # them), or, with chunked_upload, as PATCHes of chunk_size bytes for proxies that cap request bodies.
    # chunk_size 0 streams everything.
    chunk_size: int = 8 * 1024 * 1024
    chunked_upload: bool = False
    user_agent: str = "supplychain"
    # HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper case first, as Go's httpproxy.FromEnvironment reads them); the
    # proxy URLs may hold credentials, so they stay out of repr. transport.proxy_for applies them.
    https_proxy: str | None = field(default=None, repr=False)
    http_proxy: str | None = field(default=None, repr=False)
    no_proxy: str = ""
    # Per-command credentials (--registry-username, the password from SUPPLYCHAIN_REGISTRY_PASSWORD or
    # --registry-password-stdin): used for every registry the command talks to, before any saved credentials.
    registry_username: str | None = None
    registry_password: str | None = field(default=None, repr=False)
    # containers-auth.json (skopeo, podman): $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json;
    # read after docker's config.json.
    auth_file: Path | None = None
    # The transparency log to record signatures in and to ask online ($SUPPLYCHAIN_REKOR_URL; None: the default).
    rekor_url: str | None = None
    # Private-key passwords found in the environment: (variable, value) for each of PASSWORD_ENV_VARS that is set,
    # in that order (set but empty is the empty password, as in cosign). Out of repr: they are secrets.
    passwords: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # Keyless signing (cosign's flags and environment): the OIDC issuer and client, and a ready identity token.
    oidc_issuer: str = DEFAULT_OIDC_ISSUER
    oidc_client_id: str = DEFAULT_OIDC_CLIENT_ID
    id_token: str | None = field(default=None, repr=False)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the non-None ``changes`` applied (explicit CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``SUPPLYCHAIN_*`` variables (and ``DOCKER_CONFIG``) in ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    base = Settings()
    insecure = frozenset(
        h.strip() for h in env.get(f"{ENV_PREFIX}INSECURE_REGISTRIES", "").split(",") if h.strip()
    )
    docker_config = env.get("DOCKER_CONFIG")
    ca_file = env.get(f"{ENV_PREFIX}CA_FILE")
    if ca_file and not Path(ca_file).is_file():
        raise ConfigurationError(
            f"{ENV_PREFIX}CA_FILE={ca_file!r} is not a readable file",
            hint="point it at a PEM file of CA certificates, or unset it",
        )
    return replace(
        base,
        insecure_registries=insecure,
        ca_file=Path(ca_file) if ca_file else None,
        certs_dir=Path(env.get(f"{ENV_PREFIX}CERTS_DIR", str(base.certs_dir))),
        docker_config_dir=Path(docker_config) if docker_config else base.docker_config_dir,
        timeout=_number(env, "TIMEOUT", base.timeout, float, positive=True),
        retries=_number(env, "RETRIES", base.retries, int),
        max_attachment_bytes=_number(env, "MAX_ATTACHMENT_SIZE", base.max_attachment_bytes, int),
        max_signature_bytes=_number(env, "MAX_SIGNATURE_SIZE", base.max_signature_bytes, int),
        max_blob_bytes=_number(env, "MAX_BLOB_SIZE", base.max_blob_bytes, int),
        max_referrers=_number(env, "MAX_REFERRERS", base.max_referrers, int, positive=True),
        concurrency=_concurrency(env, base.concurrency),
        chunk_size=_number(env, "CHUNK_SIZE", base.chunk_size, int),
        chunked_upload=env.get(f"{ENV_PREFIX}CHUNKED_UPLOAD", "").lower() in {"1", "true", "yes"},
        https_proxy=_first(env, "HTTPS_PROXY", "https_proxy") or None,
        http_proxy=_first(env, "HTTP_PROXY", "http_proxy") or None,
        no_proxy=_first(env, "NO_PROXY", "no_proxy"),
        auth_file=_auth_file(env),
        rekor_url=env.get(REKOR_URL_ENV) or None,
        passwords=password_sources(env),
        id_token=env.get(ID_TOKEN_ENV) or None,
    )


def password_sources(env: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The private-key password variables set in ``env`` (default: ``os.environ``), in order, with their values."""
    env = os.environ if env is None else env
    return tuple((name, env[name]) for name in PASSWORD_ENV_VARS if name in env)


def _auth_file(env: Mapping[str, str]) -> Path | None:
    """containers-auth.json(5): ``REGISTRY_AUTH_FILE``, else ``${XDG_RUNTIME_DIR}/containers/auth.json``."""
    explicit = env.get("REGISTRY_AUTH_FILE", "")
    if explicit:
        return Path(explicit)
    runtime = env.get("XDG_RUNTIME_DIR", "")
    return Path(runtime) / "containers" / "auth.json" if runtime else None


MAX_CONCURRENCY = 64  # the CLI's --concurrency range: IntRange(1, 64)


def _concurrency(env: Mapping[str, str], default: int) -> int:
    wanted = f"unset it or give a whole number from 1 to {MAX_CONCURRENCY} (the default is {DEFAULT_CONCURRENCY})"
    try:
        value = _number(env, "CONCURRENCY", default, int, positive=True)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc), hint=wanted) from exc
    if value > MAX_CONCURRENCY:
        raise ConfigurationError(f"{ENV_PREFIX}CONCURRENCY={value} is over {MAX_CONCURRENCY}", hint=wanted)
    return value


def _first(env: Mapping[str, str], *names: str) -> str:
    """The first of ``names`` set and non-empty in ``env`` (Go's ``getEnvAny``), else ``""``."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _number(env: Mapping[str, str], key: str, default: _N, kind: type[_N], *, positive: bool = False) -> _N:
    raw = env.get(f"{ENV_PREFIX}{key}")
    if raw is None or raw == "":
        return default
    word = "whole number" if kind is int else "number"
    wanted = f"unset it or give a {'positive' if positive else 'non-negative'} {word}"
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}{key}={raw!r} is not a {word}", hint=wanted) from exc
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigurationError(f"{ENV_PREFIX}{key}={raw!r} is out of range", hint=wanted)
    return value
